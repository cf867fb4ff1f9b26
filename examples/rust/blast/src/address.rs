//! A simple e-mail address check: the kind of syntax test a worker can do before paying a
//! verification service (the article's flow uses Kickbox) or a mail provider.

/// True when `address` looks deliverable: one `@`, a non-empty local part of at most 64
/// characters without spaces, and a domain of at least two dot-separated labels made of
/// letters, digits and inner hyphens, with a top-level label of at least two letters.
///
/// ```
/// assert!(ferry_blast::is_valid_address("ann.lee+news@mail.example.com"));
/// assert!(!ferry_blast::is_valid_address("ann@localhost"));
/// ```
pub fn is_valid_address(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_graphic() && !"@()<>[]:;,\\\"".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |label: &&str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    let tld_ok = labels
        .last()
        .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
    address.len() <= 254 && local_ok && labels.len() >= 2 && labels.iter().all(label_ok) && tld_ok
}

#[cfg(test)]
mod tests;
