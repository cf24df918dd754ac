//! One module per command.

pub mod analyze;
pub mod doc;
pub mod doctor;
pub mod generate;
pub mod init;
pub mod plugin;
pub mod promote;
pub mod prune;
pub mod runtime;
pub mod scan;
pub mod verify;
