use meshaudit_model::Inventory;

/// What a rule reads: the inventory, and the time "now" (fixed in tests, so certificate ages
/// and snapshots do not drift).
pub struct Context<'a> {
    pub inventory: &'a Inventory,
    /// Unix seconds.
    pub now: i64,
}

impl<'a> Context<'a> {
    pub fn new(inventory: &'a Inventory, now: i64) -> Self {
        Context { inventory, now }
    }
}
