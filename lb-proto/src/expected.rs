//! `expected_codes` as Octavia accepts them: one code (`200`), a list (`200,202`) or a range
//! (`200-204`), possibly mixed.

/// A parsed `expected_codes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected(Vec<(u16, u16)>);

impl Expected {
    /// Parses; `None` for anything Octavia would refuse.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let mut ranges = Vec::new();
        for part in text.split(',') {
            let part = part.trim();
            let (lo, hi) = match part.split_once('-') {
                Some((a, b)) => (a.trim().parse().ok()?, b.trim().parse().ok()?),
                None => {
                    let c = part.parse().ok()?;
                    (c, c)
                }
            };
            if !(100..=599).contains(&lo) || !(100..=599).contains(&hi) || lo > hi {
                return None;
            }
            ranges.push((lo, hi));
        }
        (!ranges.is_empty()).then_some(Self(ranges))
    }

    /// Whether `code` is expected.
    #[must_use]
    pub fn matches(&self, code: u16) -> bool {
        self.0.iter().any(|(lo, hi)| (*lo..=*hi).contains(&code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_lists_and_ranges() {
        let e = Expected::parse("200").unwrap();
        assert!(e.matches(200) && !e.matches(201));
        let e = Expected::parse("200,202").unwrap();
        assert!(e.matches(202) && !e.matches(201));
        let e = Expected::parse("200-204,301").unwrap();
        assert!(e.matches(203) && e.matches(301) && !e.matches(205));
        for bad in ["", "abc", "99", "600", "204-200", "200,", "2xx"] {
            assert_eq!(Expected::parse(bad), None, "{bad:?}");
        }
    }
}
