use meshaudit_engine::Graph;
use meshaudit_model::Inventory;

/// What a rule reads: the inventory, the effective-policy graph built from it, and the time
/// "now" (fixed in tests, so certificate ages and snapshots do not drift).
pub struct Context<'a> {
    pub inventory: &'a Inventory,
    pub graph: Graph,
    /// Unix seconds.
    pub now: i64,
}

impl<'a> Context<'a> {
    pub fn new(inventory: &'a Inventory, now: i64) -> Self {
        Context {
            inventory,
            graph: meshaudit_engine::build_graph(inventory),
            now,
        }
    }
}
