//! A function's state transitions as AWS shows them: `Pending` → `Active` after CreateFunction
//! and `InProgress` → `Successful` after every update, each lasting a window after the change,
//! with the `RevisionId` advancing when the transition ends (AWS's ids move 1 → 2 across a
//! create, 3 → 4 across an update).
//!
//! Pure logic, derived from what is stored anyway (when the function was created and last
//! modified, and its `RevisionId`), so a transition needs no write of its own and survives a
//! restart: a transition is under way while `now < last_modified + window`, and the settled
//! `RevisionId` is derived from the one the change wrote.

use sha2::{Digest, Sha256};

/// A transition under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// After CreateFunction: `State: Pending`.
    Creating,
    /// After an update: `LastUpdateStatus: InProgress`.
    Updating,
}

/// The transition `$LATEST` is in at `now_ms` (all in epoch milliseconds), if any.
pub fn transition_at(
    now_ms: i64,
    created_ms: i64,
    last_modified_ms: i64,
    window_ms: i64,
) -> Option<Transition> {
    if window_ms <= 0 || now_ms >= last_modified_ms.saturating_add(window_ms) {
        return None;
    }
    Some(if last_modified_ms == created_ms {
        Transition::Creating
    } else {
        Transition::Updating
    })
}

/// The `RevisionId` a change's transition ends with: a UUID (version 4 in shape) derived from
/// the one the change wrote, the same on every read.
pub fn settled_revision_id(revision_id: &str) -> String {
    let digest = Sha256::digest(format!("settled:{revision_id}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = crate::code::lower_hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The `RevisionId` shown at a moment: the change's own while its transition is under way, the
/// settled one afterwards.
pub fn revision_at(revision_id: &str, transition: Option<Transition>) -> String {
    match transition {
        Some(_) => revision_id.to_owned(),
        None => settled_revision_id(revision_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_last_their_window() {
        assert_eq!(
            transition_at(1_050, 1_000, 1_000, 100),
            Some(Transition::Creating)
        );
        assert_eq!(transition_at(1_100, 1_000, 1_000, 100), None);
        assert_eq!(
            transition_at(2_050, 1_000, 2_000, 100),
            Some(Transition::Updating)
        );
        assert_eq!(
            transition_at(2_000, 1_000, 2_000, 0),
            None,
            "no window, no transition"
        );
    }

    #[test]
    fn settled_revisions_are_stable_uuids_of_their_change() {
        let a = settled_revision_id("11111111-1111-4111-8111-111111111111");
        assert_eq!(
            a,
            settled_revision_id("11111111-1111-4111-8111-111111111111")
        );
        assert_ne!(
            a,
            settled_revision_id("22222222-2222-4222-8222-222222222222")
        );
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(revision_at("r", Some(Transition::Updating)), "r");
        assert_eq!(revision_at("r", None), settled_revision_id("r"));
    }
}
