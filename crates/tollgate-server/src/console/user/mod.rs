//! The signed-in user's own data (`/user/…`): every handler reads the user from the session, never
//! from the request, so a user can only ever see or change their own rows.

pub mod api_keys;
pub mod notices;
pub mod quotas;
