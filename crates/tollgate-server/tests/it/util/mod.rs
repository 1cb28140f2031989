#![allow(dead_code)] // helpers used by some test modules only
pub mod contract;
pub mod gateway;
pub mod mock_oauth;
pub mod scripted;
pub mod test_app;
