//! `send --to NAME`: which member a display name means. Names are what the others chose (the
//! server's member list on a v2 session, the signed roster on a v3 one), so two devices may
//! share one; an item goes to a member only when exactly one matches.

use crate::exit::Failure;
use crate::room::Member;

/// What a name means among the members online.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Exactly one member: its `clientId`.
    Found(String),
    /// Nobody of that name (yet).
    Missing,
    /// Several members answer to it; sending to one of them would be a guess.
    Ambiguous(usize),
}

/// The member called `name`: an exact match first; failing that, one that differs only in
/// case (`--to phone` for "Phone"), so a typed name needs no exact capitals unless two
/// members differ only by them.
pub fn find<'a>(others: impl Iterator<Item = &'a Member>, name: &str) -> Lookup {
    let name = name.trim();
    let others: Vec<&Member> = others.collect();
    let exact: Vec<&&Member> = others.iter().filter(|m| m.name == name).collect();
    let matches = if exact.is_empty() {
        let lower = name.to_lowercase();
        others
            .iter()
            .filter(|m| m.name.to_lowercase() == lower)
            .collect()
    } else {
        exact
    };
    match matches.as_slice() {
        [] => Lookup::Missing,
        [one] => Lookup::Found(one.id.clone()),
        many => Lookup::Ambiguous(many.len()),
    }
}

/// The failure for a name that names nobody, listing who is there.
pub fn missing<'a>(name: &str, others: impl Iterator<Item = &'a Member>) -> Failure {
    let mut names: Vec<&str> = others.map(|m| m.name.as_str()).collect();
    names.sort_unstable();
    let present = if names.is_empty() {
        "nobody else is in the session".to_string()
    } else {
        format!("members: {}", names.join(", "))
    };
    Failure::NoSuchMember(format!(
        "nobody called \"{name}\" in the session ({present})"
    ))
}

pub fn ambiguous(name: &str, count: usize) -> Failure {
    Failure::NoSuchMember(format!(
        "{count} members are called \"{name}\"; rename one of them to send to it alone"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(names: &[&str]) -> Vec<Member> {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| Member {
                id: format!("id{i}"),
                name: (*n).into(),
            })
            .collect()
    }

    #[test]
    fn one_name_one_member() {
        let m = members(&["Laptop", "Phone", "nas"]);
        assert_eq!(find(m.iter(), "Phone"), Lookup::Found("id1".into()));
        assert_eq!(find(m.iter(), " phone "), Lookup::Found("id1".into()));
        assert_eq!(find(m.iter(), "NAS"), Lookup::Found("id2".into()));
        assert_eq!(find(m.iter(), "tablet"), Lookup::Missing);
        assert_eq!(find([].iter(), "x"), Lookup::Missing);
    }

    #[test]
    fn a_shared_name_is_ambiguous_unless_capitals_tell_them_apart() {
        let m = members(&["Phone", "Phone", "laptop"]);
        assert_eq!(find(m.iter(), "Phone"), Lookup::Ambiguous(2));
        let m = members(&["Phone", "phone"]);
        assert_eq!(find(m.iter(), "phone"), Lookup::Found("id1".into()));
        assert_eq!(find(m.iter(), "PHONE"), Lookup::Ambiguous(2));
    }

    #[test]
    fn errors_say_who_is_there_and_exit_11() {
        let m = members(&["b", "a"]);
        let e = missing("c", m.iter());
        assert_eq!(e.exit_code(), 11);
        assert!(e.to_string().contains("members: a, b"), "{e}");
        assert!(missing("c", [].iter()).to_string().contains("nobody else"));
        assert!(ambiguous("a", 2).to_string().contains("2 members"));
    }
}
