//! Choosing the Sales user for a lead: the lowest score-weighted open workload wins, and ties go
//! to the smallest user id, so the same data always gives the same owner.

use serde::Deserialize;
use uuid::Uuid;

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct SalesLoad {
    pub user_id: Uuid,
    /// Scores (0–100) of the user's open leads.
    #[serde(default)]
    pub open_scores: Vec<Option<i32>>,
}

/// A hot lead weighs twice a cold one: each open lead counts 1 + score/100.
pub fn workload(load: &SalesLoad) -> u32 {
    // In hundredths, so comparisons are exact integers.
    load.open_scores
        .iter()
        .map(|s| 100 + s.unwrap_or(0).clamp(0, 100) as u32)
        .sum()
}

/// The Sales user to assign a lead to; `None` when there is none.
pub fn choose(loads: &[SalesLoad]) -> Option<Uuid> {
    loads
        .iter()
        .min_by_key(|l| (workload(l), l.user_id))
        .map(|l| l.user_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> Uuid {
        Uuid::from_bytes([n; 16])
    }

    fn load(n: u8, scores: &[i32]) -> SalesLoad {
        SalesLoad {
            user_id: id(n),
            open_scores: scores.iter().copied().map(Some).collect(),
        }
    }

    #[test]
    fn lowest_weighted_workload_wins() {
        // Two cold leads (200 + 0) outweigh one hot lead (100 + 90): user 2 wins.
        let loads = [load(1, &[0, 0]), load(2, &[90]), load(3, &[50, 60])];
        assert_eq!(choose(&loads), Some(id(2)));
    }

    #[test]
    fn ties_go_to_the_smallest_id_whatever_the_order() {
        let a = [load(9, &[10]), load(4, &[10]), load(7, &[10])];
        let mut b = a.clone();
        b.reverse();
        assert_eq!(choose(&a), Some(id(4)));
        assert_eq!(choose(&b), Some(id(4)));
    }

    #[test]
    fn no_sales_user_means_no_choice() {
        assert_eq!(choose(&[]), None);
    }

    #[test]
    fn scores_are_clamped_and_missing_scores_count_as_zero() {
        let l = SalesLoad {
            user_id: id(1),
            open_scores: vec![None, Some(250), Some(-5)],
        };
        assert_eq!(workload(&l), 100 + 200 + 100);
    }
}
