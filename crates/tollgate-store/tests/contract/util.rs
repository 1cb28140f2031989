use jiff::Timestamp;
use jiff::tz::TimeZone;
use tollgate_core::money::Money;
use tollgate_core::platform::AuthSource;
use tollgate_core::window::{MonthlyMode, WindowClock};
use tollgate_store::{NewUser, Store};

pub fn usd(s: &str) -> Money {
    Money::parse(s).unwrap()
}

pub fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

pub fn clock(zone: &str) -> WindowClock {
    WindowClock::new(TimeZone::get(zone).unwrap(), MonthlyMode::Calendar)
}

pub async fn user(store: &dyn Store, email: &str) -> i64 {
    store.create_user(&NewUser::new(email, AuthSource::Email), &[], Timestamp::now()).await.unwrap().id
}
