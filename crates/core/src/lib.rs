//! acextream core: what the public server, the multiplexer and the CLI share —
//! settings, the SQLite store, accounts, credential redaction and the engine client.

pub mod accounts;
pub mod archive;
pub mod catalogue;
pub mod engine;
pub mod epg;
#[doc(hidden)]
pub mod fuzzing;
pub mod jobs;
pub mod logbuf;
pub mod migrate;
pub mod redact;
pub mod runtime_settings;
pub mod settings;
pub mod sources;
pub mod store;

pub use settings::Settings;
pub use store::{Store, StoreError};
