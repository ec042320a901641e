//! Durations and fee rates as people write them.

use bitcoin::FeeRate;

use super::limits::MAX_FEE_RATE_SAT_VB;

/// `"90s"`, `"30m"`, `"2h"`, `"3d"` as seconds (`None` when it is not one, or overflows).
pub(crate) fn parse_duration(text: &str) -> Option<u32> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = text.split_at(split);
    let n: u32 = n.parse().ok()?;
    let factor = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(factor)
}

/// `"2 sat/vB"` (also `sat/vb`): a whole number of satoshis per virtual byte, 1 or more.
pub(crate) fn fee_rate(text: &str) -> Result<FeeRate, String> {
    let trimmed = text.trim();
    let number = trimmed
        .strip_suffix("sat/vB")
        .or_else(|| trimmed.strip_suffix("sat/vb"))
        .ok_or_else(|| format!("`{text}` is not a fee rate in sat/vB"))?;
    let rate: u64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{text}`: the rate is a whole number of sat/vB"))?;
    if !(1..=MAX_FEE_RATE_SAT_VB).contains(&rate) {
        return Err(format!("fee rate {rate} sat/vB is not between 1 and {MAX_FEE_RATE_SAT_VB}"));
    }
    FeeRate::from_sat_per_vb(rate).ok_or_else(|| format!("fee rate {rate} sat/vB overflows"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Some(90));
        assert_eq!(parse_duration("2h"), Some(7200));
        assert_eq!(parse_duration("3 d"), Some(259_200));
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("5y"), None);
        assert_eq!(parse_duration("4294967295d"), None);
    }

    #[test]
    fn fee_rates() {
        assert_eq!(fee_rate("2 sat/vB"), Ok(FeeRate::from_sat_per_vb_u32(2)));
        assert_eq!(fee_rate("15sat/vb"), Ok(FeeRate::from_sat_per_vb_u32(15)));
        assert!(fee_rate("0 sat/vB").is_err());
        assert!(fee_rate("2.5 sat/vB").is_err());
        assert!(fee_rate("2 BTC").is_err());
    }
}
