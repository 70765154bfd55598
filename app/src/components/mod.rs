//! Pieces shared by pages.

pub mod common;
pub mod findings;
pub mod guard;
pub mod layout;
pub mod listing;
pub mod risk;
pub mod signatures;
pub mod theme;
pub mod vulns;
