//! The two Prometheus exposition formats `/metrics` speaks, chosen by the request's
//! `Accept` header: OpenMetrics 1.0 when the scraper asks for it (Prometheus does), the
//! classic text format 0.0.4 otherwise. prometheus-client writes OpenMetrics; the classic
//! form differs in what a plain parser needs: a counter's `# TYPE` and `# HELP` name its
//! samples (`x_total`, not `x`), and there are no `# UNIT` or `# EOF` lines.

/// A `/metrics` format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
    /// `text/plain; version=0.0.4`.
    Classic,
}

impl Format {
    /// The format an `Accept` header asks for.
    pub fn negotiate(accept: Option<&str>) -> Self {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Self::OpenMetrics,
            _ => Self::Classic,
        }
    }

    /// The `Content-Type` of the format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Self::Classic => "text/plain; version=0.0.4; charset=utf-8",
        }
    }

    /// `openmetrics` (prometheus-client's output) in this format.
    pub fn render(self, openmetrics: String) -> String {
        match self {
            Self::OpenMetrics => openmetrics,
            Self::Classic => to_classic(&openmetrics),
        }
    }
}

/// The classic text format of OpenMetrics text.
pub fn to_classic(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let renamed = ["# TYPE ", "# HELP "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            counters
                .contains(name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        match renamed {
            Some(l) => out.push_str(l.trim_end()),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN: &str = "# HELP ferry_messages_done Messages processed and acked.\n\
        # TYPE ferry_messages_done counter\n\
        ferry_messages_done_total{subscription=\"s\",realm=\"\"} 0\n\
        # HELP ferry_worker_serving 1 while the worker reports SERVING.\n\
        # TYPE ferry_worker_serving gauge\n\
        ferry_worker_serving 1\n\
        # HELP ferry_handle_duration_seconds Duration of Handle calls.\n\
        # TYPE ferry_handle_duration_seconds histogram\n\
        # UNIT ferry_handle_duration_seconds seconds\n\
        ferry_handle_duration_seconds_sum 0.0\n\
        # EOF\n";

    #[test]
    fn counters_are_typed_by_their_samples_in_the_classic_format() {
        let classic = to_classic(OPEN);
        assert!(
            classic.contains("# TYPE ferry_messages_done_total counter\n"),
            "{classic}"
        );
        assert!(
            classic.contains("# HELP ferry_messages_done_total Messages processed and acked.\n")
        );
        assert!(classic.contains("# TYPE ferry_worker_serving gauge\n"));
        assert!(!classic.contains("# EOF"));
        assert!(!classic.contains("# UNIT"));
        assert!(classic.contains("ferry_messages_done_total{subscription=\"s\",realm=\"\"} 0\n"));
    }

    #[test]
    fn the_accept_header_chooses() {
        assert_eq!(
            Format::negotiate(Some(
                "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"
            )),
            Format::OpenMetrics
        );
        assert_eq!(Format::negotiate(Some("text/plain")), Format::Classic);
        assert_eq!(Format::negotiate(None), Format::Classic);
    }
}
