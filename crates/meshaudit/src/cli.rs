//! Command-line interface.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "meshaudit",
    version,
    about = "Audit the security of a service mesh (Istio first; Linkerd and Consul to come) from its manifests.",
    long_about = None,
    after_help = "Exit codes: 0 no finding at or above --fail-on; 1 at least one; 2 usage error or unreadable input."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan manifests (files, folders, or - for stdin) and report findings.
    Scan(ScanArgs),
    /// Scan and write every current finding's fingerprint to a baseline file.
    Baseline(BaselineArgs),
    /// List the rules.
    Rules(RulesArgs),
    /// Print a rule's documentation.
    Explain(ExplainArgs),
    /// Show the effective-policy graph: for each client and server port, whether traffic is
    /// encrypted, which identity the server sees, and what authorization decides.
    Graph(GraphArgs),
    /// List every certificate in the input (Secrets, ConfigMaps, webhook caBundles, PEM/DER
    /// files) with its role, expiry, chain and the certificate findings on it.
    Certs(CertsArgs),
}

#[derive(Debug, Args)]
pub struct CertsArgs {
    /// Manifests (files, folders, `-` for stdin) and certificate files (.pem, .crt, .cer, .der;
    /// folders are searched for both). Private keys are never read.
    #[arg(required_unless_present = "probe", value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Fetch the certificate chain a live TLS endpoint presents (any certificate is accepted,
    /// for inspection) and whether it asks for a client certificate. Repeatable.
    #[arg(long, value_name = "HOST:PORT")]
    pub probe: Vec<String>,

    /// Server name (SNI) to send with --probe (default: the host).
    #[arg(long, value_name = "NAME", requires = "probe")]
    pub sni: Option<String>,

    /// Seconds to wait for each --probe connection and handshake.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub probe_timeout: u64,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = CertsFormatArg::Table)]
    pub format: CertsFormatArg,

    /// Write the inventory to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Config file (default: ./meshaudit.toml when it exists): expiry thresholds, ignores,
    /// severity overrides and exclusions apply.
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,

    /// Ignore ./meshaudit.toml.
    #[arg(long)]
    pub no_config: bool,

    /// Print skipped documents and files.
    #[arg(short, long)]
    pub verbose: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum CertsFormatArg {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Files or folders to read (folders recursively: .yaml, .yml, .json); `-` reads stdin.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = GraphFormatArg::Table)]
    pub format: GraphFormatArg,

    /// Write the graph to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Only edges from these clients: `namespace/name`, `namespace` (every workload in it),
    /// `*meshed` or `*unmeshed` (the catch-all groups). Repeatable.
    #[arg(long, value_name = "CLIENT")]
    pub from: Vec<String>,

    /// Only edges to these servers: `namespace/name` or `namespace`. Repeatable.
    #[arg(long, value_name = "SERVER")]
    pub to: Vec<String>,

    /// Only edges to this server port (the port the application listens on).
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,

    /// Only edges that carry plaintext.
    #[arg(long)]
    pub plaintext: bool,

    /// Only edges where at least some requests get through (the mesh allows them and
    /// NetworkPolicy does not block them).
    #[arg(long)]
    pub allowed: bool,

    /// Print the evidence chain of each shown edge: which resources, in which files, decided it.
    #[arg(long)]
    pub explain: bool,

    /// One line per client, instead of one line per group of clients that get the same answer
    /// from a server port.
    #[arg(long)]
    pub expand: bool,

    /// Print skipped documents and files.
    #[arg(short, long)]
    pub verbose: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum GraphFormatArg {
    Table,
    Json,
    Dot,
    Mermaid,
}

#[derive(Debug, Args)]
pub struct InputArgs {
    /// Files or folders to read (folders recursively: .yaml, .yml, .json); `-` reads stdin.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Only run these rules: codes (AUTHZ001), code prefixes (AUTHZ), categories
    /// (authorization) or ALL. Comma-separated or repeated. Replaces `select` from the config.
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub select: Vec<String>,

    /// Do not run these rules (same forms as --select). Adds to `ignore` from the config.
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub ignore: Vec<String>,

    /// Hide findings below this severity.
    #[arg(long, value_name = "SEVERITY")]
    pub min_severity: Option<SeverityArg>,

    /// Config file (default: ./meshaudit.toml when it exists).
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,

    /// Ignore ./meshaudit.toml.
    #[arg(long)]
    pub no_config: bool,

    /// Print skipped documents and files.
    #[arg(short, long)]
    pub verbose: bool,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,

    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Exit with 1 when a finding at or above this severity remains [default: high, or the config's].
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<FailOnArg>,

    /// Hide findings whose fingerprint is in this baseline file (see `meshaudit baseline`).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Match component versions against the advisories in FILE instead of the bundled
    /// database of the same mesh: Istio bulletins (the format of
    /// crates/meshaudit-rules/data/istio-advisories.json) or Linkerd advisories (that of
    /// linkerd-advisories.json), recognised by content. Repeat it to replace both.
    #[arg(long, value_name = "FILE")]
    pub advisories: Vec<PathBuf>,

    /// Group text output by severity or by resource.
    #[arg(long, value_enum, default_value_t = GroupByArg::Severity)]
    pub group_by: GroupByArg,

    /// Color text output.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
}

#[derive(Debug, Args)]
pub struct BaselineArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Where to write the baseline.
    #[arg(
        long,
        short = 'o',
        value_name = "FILE",
        default_value = "meshaudit-baseline.json"
    )]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    #[arg(long, short = 'f', value_enum, default_value_t = ListFormatArg::Table)]
    pub format: ListFormatArg,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Rule code (AUTHZ001) or name (allow-policy-matches-everything).
    pub rule: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Text,
    Json,
    Sarif,
    Junit,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ListFormatArg {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GroupByArg {
    Severity,
    Resource,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum SeverityArg {
    Critical,
    High,
    Medium,
    Low,
    Info,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum FailOnArg {
    Critical,
    High,
    Medium,
    Low,
    Info,
    Never,
}

impl SeverityArg {
    pub fn severity(self) -> meshaudit_rules::Severity {
        use meshaudit_rules::Severity as S;
        match self {
            SeverityArg::Critical => S::Critical,
            SeverityArg::High => S::High,
            SeverityArg::Medium => S::Medium,
            SeverityArg::Low => S::Low,
            SeverityArg::Info => S::Info,
        }
    }
}

impl FailOnArg {
    /// `None` for `never`.
    pub fn severity(self) -> Option<meshaudit_rules::Severity> {
        use meshaudit_rules::Severity as S;
        Some(match self {
            FailOnArg::Critical => S::Critical,
            FailOnArg::High => S::High,
            FailOnArg::Medium => S::Medium,
            FailOnArg::Low => S::Low,
            FailOnArg::Info => S::Info,
            FailOnArg::Never => return None,
        })
    }
}
