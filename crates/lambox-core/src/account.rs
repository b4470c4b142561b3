//! Accounts: which account a request acts for, derived from its access key id the way AWS
//! encodes account ids into `AKIA…`/`ASIA…` keys.

/// Whether `s` is a 12-digit AWS account id.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The account an access key id belongs to, or `None` when the key carries no account.
///
/// - a 12-digit key is the account itself (`111111111111`);
/// - an `AKIA`/`ASIA`/`LKIA`/`LSIA` key of at least 20 characters decodes to the account AWS
///   encoded into it (`AKIARZPUZDIKGB2VALC4` → `123456789012`);
/// - anything else carries no account; the caller falls back to its default.
pub fn account_from_access_key(key: &str) -> Option<String> {
    if is_account_id(key) {
        return Some(key.to_owned());
    }
    let prefix = key.get(..4)?;
    if key.len() < 20 || !matches!(prefix, "AKIA" | "ASIA" | "LKIA" | "LSIA") {
        return None;
    }
    // Characters 4..12 are 40 bits of base32: the account shifted left by one, offset by 2^39;
    // the lowest bit of the account is the top bit of character 12.
    let mut n: i64 = 0;
    for c in key[4..12].bytes() {
        n = (n << 5) | i64::from(base32_value(c)?);
    }
    let low_bit = i64::from(base32_value(key.as_bytes()[12])? >= 16);
    let account = 2 * (n - (1_i64 << 39)) + low_bit;
    (0..=999_999_999_999)
        .contains(&account)
        .then(|| format!("{account:012}"))
}

fn base32_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'2'..=b'7' => Some(c - b'2' + 26),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_digits_are_the_account() {
        assert_eq!(
            account_from_access_key("111111111111").as_deref(),
            Some("111111111111")
        );
        assert_eq!(account_from_access_key("11111111111"), None);
    }

    #[test]
    fn decodes_aws_encoded_keys() {
        assert_eq!(
            account_from_access_key("AKIARZPUZDIKGB2VALC4").as_deref(),
            Some("123456789012")
        );
        assert_eq!(
            account_from_access_key("ASIAQAAAAAAAGMKEM7X5").as_deref(),
            Some("000000000000")
        );
    }

    #[test]
    fn keys_without_an_account_fall_through() {
        // AWS's documentation example decodes to a negative number.
        assert_eq!(account_from_access_key("AKIAIOSFODNN7EXAMPLE"), None);
        assert_eq!(account_from_access_key("test"), None);
        assert_eq!(account_from_access_key("AKIA"), None);
        assert_eq!(account_from_access_key("AKIA0000000000000000"), None);
    }
}
