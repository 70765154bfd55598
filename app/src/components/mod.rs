//! Pieces shared by pages.

pub mod common;
pub mod guard;
pub mod layout;
pub mod theme;
