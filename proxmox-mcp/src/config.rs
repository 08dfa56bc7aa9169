//! Configuration: types, the pure merge of file + environment + CLI, and the IO that feeds it.

pub mod env;
pub mod error;
pub mod file;
pub mod load;
pub mod resolve;
pub mod secret;
pub mod types;

pub use error::ConfigError;
pub use file::FileConfig;
pub use load::{LoadOptions, load};
pub use secret::Secret;
pub use types::{
    AiBackend, AiConfig, AuditConfig, Auth, ClusterConfig, Config, DiagnosticsConfig, ExecConfig,
    ExecutorKind, IgnoreRule, Origin, PolicyConfig, Setting, SshConfig, Timeouts, TlsConfig,
    ToolsConfig, UpdateConfig, UpdateSourceKind,
};
