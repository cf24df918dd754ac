//! One module per command.

pub mod generate;
pub mod init;
pub mod scan;
