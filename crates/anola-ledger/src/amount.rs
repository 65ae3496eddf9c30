//! Money as integers: minor units in a `u64`, a currency per account, and a strict decimal parser.
//! No floats anywhere: an amount written as `12.5` is parsed digit by digit against the currency's
//! number of minor units, and anything else (exponents, signs, too many decimals) is refused.

use crate::error::LedgerError;
use serde::{Deserialize, Serialize};

/// An ISO 4217 code the platform handles, with its minor units (KES 2: 1 shilling = 100 cents).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Currency {
    KES,
    UGX,
    TZS,
    RWF,
    NGN,
    GHS,
    XOF,
    USD,
    EUR,
}

impl Currency {
    pub const ALL: [Currency; 9] = [
        Currency::KES,
        Currency::UGX,
        Currency::TZS,
        Currency::RWF,
        Currency::NGN,
        Currency::GHS,
        Currency::XOF,
        Currency::USD,
        Currency::EUR,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Currency::KES => "KES",
            Currency::UGX => "UGX",
            Currency::TZS => "TZS",
            Currency::RWF => "RWF",
            Currency::NGN => "NGN",
            Currency::GHS => "GHS",
            Currency::XOF => "XOF",
            Currency::USD => "USD",
            Currency::EUR => "EUR",
        }
    }

    /// Digits after the decimal point (ISO 4217).
    pub fn minor_units(self) -> u32 {
        match self {
            Currency::UGX | Currency::RWF | Currency::XOF => 0,
            _ => 2,
        }
    }

    pub fn parse(code: &str) -> Result<Currency, LedgerError> {
        Currency::ALL
            .into_iter()
            .find(|c| c.code() == code)
            .ok_or_else(|| LedgerError::UnsupportedCurrency {
                currency: code.chars().take(8).collect(),
            })
    }
}

/// Parses a decimal amount (`"150"`, `"150.5"`, `"150.50"`) into minor units of `currency`.
/// Refused: empty, signs, exponents, spaces, more decimals than the currency has, zero, overflow.
pub fn parse_amount(text: &str, currency: Currency) -> Result<u64, LedgerError> {
    let bad = || LedgerError::InvalidAmount {
        reason: format!(
            "an amount is digits with at most {} decimal(s), e.g. {}",
            currency.minor_units(),
            if currency.minor_units() == 0 { "1500" } else { "1500.50" }
        ),
    };
    let (whole, frac) = match text.split_once('.') {
        Some((w, f)) => (w, f),
        None => (text, ""),
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    if text.contains('.') && (frac.is_empty() || frac.len() as u32 > currency.minor_units()) {
        return Err(bad());
    }
    let scale = 10u64.pow(currency.minor_units());
    let whole: u64 = whole.parse().map_err(|_| LedgerError::Overflow)?;
    let mut frac_value: u64 = if frac.is_empty() { 0 } else { frac.parse().map_err(|_| bad())? };
    for _ in frac.len() as u32..currency.minor_units() {
        frac_value *= 10;
    }
    let minor = whole
        .checked_mul(scale)
        .and_then(|w| w.checked_add(frac_value))
        .ok_or(LedgerError::Overflow)?;
    if minor == 0 {
        return Err(LedgerError::InvalidAmount {
            reason: "an amount must be more than zero".into(),
        });
    }
    Ok(minor)
}

/// Formats minor units as a decimal string of `currency` (`150050` KES → `"1500.50"`).
pub fn format_amount(minor: u64, currency: Currency) -> String {
    let d = currency.minor_units();
    if d == 0 {
        return minor.to_string();
    }
    let scale = 10u64.pow(d);
    format!("{}.{:0width$}", minor / scale, minor % scale, width = d as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn amounts_parse_strictly() {
        assert_eq!(parse_amount("150", Currency::KES), Ok(15_000));
        assert_eq!(parse_amount("150.5", Currency::KES), Ok(15_050));
        assert_eq!(parse_amount("150.05", Currency::KES), Ok(15_005));
        assert_eq!(parse_amount("1500", Currency::UGX), Ok(1_500));
        for bad in ["", "-5", "+5", "1e3", "1.", ".5", "1.234", " 1", "1,5", "NaN", "0", "0.00"] {
            assert!(parse_amount(bad, Currency::KES).is_err(), "{bad:?} accepted");
        }
        assert!(parse_amount("1.5", Currency::UGX).is_err());
        assert_eq!(parse_amount("184467440737095517", Currency::KES), Err(LedgerError::Overflow));
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(minor in 1u64..u64::MAX / 1000, c in 0usize..9) {
            let currency = Currency::ALL[c];
            prop_assert_eq!(parse_amount(&format_amount(minor, currency), currency), Ok(minor));
        }
    }
}

/// The UI's copy of the currency table (`ui/src/generated/currencies.ts`), generated from this
/// one so the two never differ; a test fails when the file is stale (`ANOLA_WRITE_GENERATED=1`
/// rewrites it).
pub fn currencies_ts() -> String {
    let mut s = String::from("// Generated from crates/anola-ledger/src/amount.rs by its tests (ANOLA_WRITE_GENERATED=1 cargo test -p anola-ledger generated). Do not edit.\n\n");
    s.push_str(&format!(
        "export type Currency = {};\n\n",
        Currency::ALL
            .iter()
            .map(|c| format!("'{}'", c.code()))
            .collect::<Vec<_>>()
            .join(" | ")
    ));
    s.push_str("/** Digits after the decimal point (ISO 4217). */\nexport const MINOR_UNITS: Record<Currency, number> = {\n");
    for c in Currency::ALL {
        s.push_str(&format!("  {}: {},\n", c.code(), c.minor_units()));
    }
    s.push_str("};\n\n/** The largest amount the ledger keeps exactly (2^53 - 1 minor units). */\n");
    s.push_str(&format!("export const MAX_AMOUNT = {};\n", crate::command::MAX_AMOUNT));
    s
}

#[cfg(test)]
mod generated {
    #[test]
    fn generated_ts_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ui/src/generated/currencies.ts");
        let want = super::currencies_ts();
        if std::env::var_os("ANOLA_WRITE_GENERATED").is_some() {
            std::fs::write(path, &want).unwrap();
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert_eq!(
            have, want,
            "ui/src/generated/currencies.ts is stale: run ANOLA_WRITE_GENERATED=1 cargo test -p anola-ledger generated"
        );
    }
}
