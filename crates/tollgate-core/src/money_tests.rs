use super::*;
use proptest::prelude::*;

#[test]
fn parses_exact_decimals() {
    assert_eq!(Money::parse("10.1").map(Money::nanos), Ok(10_100_000_000));
    assert_eq!(Money::parse("0").map(Money::nanos), Ok(0));
    assert_eq!(Money::parse("0.000000001").map(Money::nanos), Ok(1));
    assert_eq!(Money::parse("007.50").map(Money::nanos), Ok(7_500_000_000));
    assert_eq!(Money::parse("1.1000000000000").map(Money::nanos), Ok(1_100_000_000));
    assert_eq!(Money::parse("1e3").map(Money::nanos), Ok(1_000_000_000_000));
    assert_eq!(Money::parse("2.5E-1").map(Money::nanos), Ok(250_000_000));
}

#[test]
fn refuses_bad_text() {
    assert_eq!(Money::parse("-1"), Err(MoneyError::Negative));
    assert_eq!(Money::parse("-0"), Err(MoneyError::Negative));
    for bad in
        ["", "NaN", "nan", "inf", "Infinity", "-inf", "1.", ".5", "1..2", " 1", "1 ", "0x10", "abc", "+1", "1e", "1e+"]
    {
        assert_eq!(Money::parse(bad), Err(MoneyError::NotANumber), "{bad:?}");
    }
    assert_eq!(Money::parse("0.0000000001"), Err(MoneyError::TooPrecise));
    assert_eq!(Money::parse("1e-10"), Err(MoneyError::TooPrecise));
    assert_eq!(Money::parse("99999999999"), Err(MoneyError::Overflow));
    assert_eq!(Money::parse("9300000000"), Err(MoneyError::Overflow));
    assert_eq!(Money::parse("1e99"), Err(MoneyError::Overflow));
}

#[test]
fn json_round_trip_keeps_text() {
    let m: Money = serde_json::from_str("10.1").unwrap();
    assert_eq!(m.nanos(), 10_100_000_000);
    assert_eq!(serde_json::to_string(&m).unwrap(), "10.1");
    assert!(serde_json::from_str::<Money>("\"10\"").is_err());
    assert!(serde_json::from_str::<Money>("-3").is_err());
    assert!(serde_json::from_str::<Money>("true").is_err());
    let v: Vec<Money> = serde_json::from_slice(b"[1, 0.5, 3e0]").unwrap();
    assert_eq!(serde_json::to_string(&v).unwrap(), "[1,0.5,3]");
}

#[test]
fn multiply_rounds_up() {
    let cost = Money::from_nanos(3).unwrap();
    let half = Decimal9::parse("0.5").unwrap();
    assert_eq!(cost.mul_ceil(half).map(Money::nanos), Some(2));
    assert_eq!(cost.mul_ceil(Decimal9::ONE), Some(cost));
    assert_eq!(Money::MAX.mul_ceil(Decimal9::parse("2").unwrap()), None);
}

#[test]
fn arithmetic_does_not_wrap() {
    assert_eq!(Money::MAX.checked_add(Money::from_nanos(1).unwrap()), None);
    assert_eq!(Money::MAX.saturating_add(Money::MAX), Money::MAX);
    assert_eq!(Money::ZERO.saturating_sub(Money::ONE), Money::ZERO);
}

proptest! {
    #[test]
    fn format_parse_round_trip(n in 0_i64..=i64::MAX) {
        let m = Money::from_nanos(n).unwrap();
        prop_assert_eq!(Money::parse(&m.to_string()), Ok(m));
        let json = serde_json::to_string(&m).unwrap();
        prop_assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), m);
    }

    #[test]
    fn parse_matches_integer_arithmetic(int in 0_i64..9_000_000_000, frac in 0_i64..1_000_000_000, pad in 0_usize..4) {
        let text = format!("{int}.{frac:09}{}", "0".repeat(pad));
        prop_assert_eq!(Money::parse(&text).map(Money::nanos), Ok(int * NANOS_PER_UNIT + frac));
    }

    #[test]
    fn parse_never_panics(s in "\\PC{0,24}") {
        let _ = Money::parse(&s);
    }
}
