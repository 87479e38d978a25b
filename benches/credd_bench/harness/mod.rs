//! The harness every section shares: settings from the environment, the
//! closed-loop load drivers, their statistics, report rows, and the printed
//! table and JSON file.

pub(crate) mod load;
pub(crate) mod output;
pub(crate) mod report;
pub(crate) mod settings;
pub(crate) mod stats;
