//! Docker: connecting to engines, normalising what they report, the configuration
//! checks, secret detection, and the collector that keeps the store current.

pub mod catalog;
pub mod checks;
pub mod collect;
pub mod collector;
pub mod detect;
pub mod engine;
pub mod manage;
pub mod normalize;
pub mod secrets;
pub mod store;
pub mod views;
