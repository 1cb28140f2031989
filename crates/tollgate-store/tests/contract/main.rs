//! The storage contract, run against SQLite always and against PostgreSQL when
//! `TOLLGATE_TEST_PG_URL` is set (the test script sets it; an unreachable database fails the run).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns panic on purpose

mod billing;
mod console;
mod postgres_only;
mod quotas;
mod rate_limits;
mod secrets;
mod settings;
mod users;
mod util;

/// Stamps out each case once per backend.
macro_rules! contract {
    ($($module:ident :: $case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    crate::$module::$case(&tollgate_store::testing::TestDb::sqlite()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    match tollgate_store::testing::TestDb::postgres(stringify!($case)).await {
                        Some(db) => crate::$module::$case(&db).await,
                        None => eprintln!("skipped: TOLLGATE_TEST_PG_URL is not set"),
                    }
                }
            )*
        }
    };
}

contract!(
    billing::settle_is_idempotent_per_request_id,
    billing::strict_reservations_never_pass_the_limit,
    billing::settlement_matches_the_in_memory_charge,
    quotas::get_returns_active_row_or_none,
    quotas::bulk_insert_is_idempotent_and_never_overwrites,
    quotas::increment_creates_a_row_without_limits,
    quotas::increment_rolls_over_daily_weekly_monthly,
    quotas::increment_rolls_over_in_new_york_across_dst,
    quotas::rolling_month_starts_at_first_charge_after_expiry,
    quotas::concurrent_increments_from_two_pools_are_exact,
    quotas::upsert_replaces_limits_and_keeps_usage,
    quotas::upsert_rejects_duplicates_and_unknown_user,
    quotas::reset_zeroes_without_moving_the_boundary,
    settings::round_trip_of_every_key,
    rate_limits::overrides_are_replaced_whole_with_their_audit,
    settings::invalid_changes_save_nothing,
    users::create_snapshots_defaults_in_one_transaction,
    users::duplicate_email_writes_nothing,
    users::list_search_and_page,
    users::update_patches_fields,
    console::api_keys_lifecycle,
    console::audited_changes_commit_with_their_entry,
    console::upstreams_crud_and_order,
    console::price_overrides_round_trip,
    console::sessions_expire_and_follow_the_user,
    console::audit_pages_newest_first,
    console::identity_signup_is_one_transaction,
    console::daily_spend_groups_by_local_date,
    secrets::secret_rewrites_are_all_or_nothing,
    secrets::promotion_ends_every_way_into_the_account,
);
