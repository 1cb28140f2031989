use jiff::Timestamp;
use tollgate_core::money::Decimal9;
use tollgate_core::platform::{AuthSource, Platform};
use tollgate_core::quota::WindowLimits;
use tollgate_store::testing::TestDb;
use tollgate_store::{NewUser, Role, StoreError, UserPatch, UserStatus};

use crate::util::usd;

pub async fn create_snapshots_defaults_in_one_transaction(db: &TestDb) {
    let s = db.open().await.unwrap();
    let limits = WindowLimits { five_hour: None, daily: Some(usd("0")), weekly: None, monthly: Some(usd("30")) };
    let mut new = NewUser::new("  Mixed@Example.COM ", AuthSource::GitHub);
    new.display_name = "Mixed".into();
    let u = s.create_user(&new, &[(Platform::OpenAi, limits)], Timestamp::now()).await.unwrap();
    assert_eq!(u.email, "mixed@example.com");
    assert_eq!(u.auth_source, AuthSource::GitHub);
    assert_eq!((u.role, u.status, u.cost_multiplier), (Role::User, UserStatus::Active, Decimal9::ONE));
    let rows = s.list_by_user(u.id).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].platform, rows[0].limits), (Platform::OpenAi, limits));
    assert_eq!(s.find_user_by_email("MIXED@example.com").await.unwrap().map(|x| x.id), Some(u.id));
    assert_eq!(s.get_user(u.id).await.unwrap(), Some(u));
}

pub async fn duplicate_email_writes_nothing(db: &TestDb) {
    let s = db.open().await.unwrap();
    let new = NewUser::new("dup@example.com", AuthSource::Email);
    s.create_user(&new, &[], Timestamp::now()).await.unwrap();
    let limits = WindowLimits { five_hour: None, daily: Some(usd("1")), ..Default::default() };
    let err = s.create_user(&new, &[(Platform::Gemini, limits)], Timestamp::now()).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(s.count_users().await.unwrap(), 1);
}

pub async fn list_search_and_page(db: &TestDb) {
    let s = db.open().await.unwrap();
    for i in 0..25 {
        let mut n = NewUser::new(&format!("user{i:02}@example.com"), AuthSource::Email);
        n.display_name = if i == 7 { "Ada 100%_".into() } else { format!("User {i}") };
        s.create_user(&n, &[], Timestamp::now()).await.unwrap();
    }
    let p1 = s.list_users("", 1, 10).await.unwrap();
    assert_eq!((p1.users.len(), p1.total), (10, 25));
    let p3 = s.list_users("", 3, 10).await.unwrap();
    assert_eq!(p3.users.len(), 5);
    assert_eq!(p3.users[0].email, "user20@example.com");
    assert_eq!(s.list_users("USER1", 1, 50).await.unwrap().total, 10);
    // LIKE wildcards in the query are literal.
    let pct = s.list_users("100%_", 1, 50).await.unwrap();
    assert_eq!(pct.users.iter().map(|u| u.email.as_str()).collect::<Vec<_>>(), ["user07@example.com"]);
    assert_eq!(s.list_users("_", 1, 50).await.unwrap().total, 1);
}

pub async fn update_patches_fields(db: &TestDb) {
    let s = db.open().await.unwrap();
    let u = s.create_user(&NewUser::new("p@example.com", AuthSource::Email), &[], Timestamp::now()).await.unwrap();
    let patch = UserPatch {
        role: Some(Role::Admin),
        status: Some(UserStatus::Disabled),
        cost_multiplier: Some(Decimal9::parse("1.25").unwrap()),
        ..Default::default()
    };
    let updated = s.update_user(u.id, &patch, Timestamp::now()).await.unwrap();
    assert_eq!((updated.role, updated.status), (Role::Admin, UserStatus::Disabled));
    assert_eq!(s.get_user(u.id).await.unwrap().unwrap().cost_multiplier.to_string(), "1.25");
    assert!(matches!(s.update_user(u.id + 50, &patch, Timestamp::now()).await, Err(StoreError::NotFound)));
}
