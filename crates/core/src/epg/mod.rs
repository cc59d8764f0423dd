//! The programme guide: reading XMLTV feeds (gzip / xz / plain, detected by their
//! magic bytes and streamed), storing each guide source's channels and programmes,
//! and mapping acextream channels to guide channels.
//!
//! Everything here is blocking (SQLite, decompression, a big XML document): async
//! callers run it on a blocking thread (`Store::run`, `spawn_blocking`).
//!
//! The pipeline, in order:
//! 1. [`decode::decoded`] turns the downloaded bytes into plain XML;
//! 2. [`ingest::import_source`] streams it through [`xmltv::read_xmltv`] into
//!    `epg_channels` / `epg_programmes`, replacing only that source's rows: written
//!    in short batches under a new generation, swapped in at the end;
//! 3. [`mapping::remap`] recomputes `channel_guide` (which guide channel each channel
//!    shows);
//! 4. [`query`] serves the stored guide to the Xtream API and `xmltv.php`.

pub mod decode;
mod error;
mod guard;
pub mod ingest;
pub mod mapping;
pub mod query;
mod text;
pub mod time;
pub mod xmltv;

pub use decode::decoded;
pub use error::EpgError;
pub use ingest::{ImportReport, Window, import_source, record_failure};
pub use mapping::{MappingReport, remap};
pub use query::{
    StoredProgramme, channels_without_guide, for_each_programme_of_mapped_channels,
    programmes_for_channel,
};
pub use time::{format_xmltv_time, parse_xmltv_time};
pub use xmltv::{Programme, ReadStats, XmltvChannel, read_xmltv, read_xmltv_with};
