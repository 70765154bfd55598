//! One module per page.

pub mod account;
pub mod audit;
pub mod login;
pub mod not_found;
pub mod overview;
pub mod tokens;
pub mod users;
