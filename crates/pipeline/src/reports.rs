//! Reports over the ledger: the app's dashboard, `ledger report`/`export`, the fleet
//! aggregate, and the response cache's counts.

use crate::{Error, Fieldbrief, Result, timestamp};
use fieldbrief_core::ledger::{self, Entry};
use serde::Serialize;

/// The Ledger view's data.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Dashboard {
    pub report: ledger::Report,
    pub days: Vec<ledger::Day>,
    pub cache: fieldbrief_store::CacheStats,
    pub currency: String,
}

impl Fieldbrief {
    /// What the app's Ledger view shows: the report, the ledger day by day, the cache and the
    /// currency the costs are in.
    pub fn dashboard(&self, since: Option<&Since>) -> Result<Dashboard> {
        let entries = self.store.ledger(since.map(|s| s.0.as_str()))?;
        Ok(Dashboard {
            report: ledger::report(&entries, since.map(|s| s.0.clone())),
            days: ledger::daily(&entries),
            cache: self.store.cache_stats()?,
            currency: self.settings.cost.currency.clone(),
        })
    }

    /// The ledger as fleet telemetry: counts and sums only (no note text, no hashes).
    pub fn ledger_aggregate(&self, since: Option<&Since>) -> Result<ledger::AggregateExport> {
        let entries = self.store.ledger(since.map(|s| s.0.as_str()))?;
        let mut export = ledger::aggregate(&entries, since.map(|s| s.0.clone()));
        // Which versions run here and where each stands in its rollout: what an organisation
        // that collects these files needs to watch a staged rollout (nothing is sent by us).
        export.models = self.fleet_models()?;
        Ok(export)
    }

    /// Empties the response cache; returns how many entries were removed.
    pub fn clear_cache(&self) -> Result<usize> {
        Ok(self.store.cache_clear()?)
    }

    pub fn cache_stats(&self) -> Result<fieldbrief_store::CacheStats> {
        Ok(self.store.cache_stats()?)
    }

    /// `since`: a value from [`parse_since`].
    pub fn ledger_report(&self, since: Option<&Since>) -> Result<ledger::Report> {
        let entries = self.store.ledger(since.map(|s| s.0.as_str()))?;
        Ok(ledger::report(&entries, since.map(|s| s.0.clone())))
    }

    pub fn ledger_entries(&self, since: Option<&Since>) -> Result<Vec<Entry>> {
        Ok(self.store.ledger(since.map(|s| s.0.as_str()))?)
    }
}

/// A point in time to report from, normalised to the ledger's UTC timestamp form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Since(pub String);

/// Parses `YYYY-MM-DD` (midnight UTC) or an RFC 3339 time with any offset.
pub fn parse_since(s: &str) -> Result<Since> {
    use time::format_description::well_known::Rfc3339;
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    let instant = if let Ok(date) = time::Date::parse(s, &date_format) {
        date.midnight().assume_utc()
    } else if let Ok(t) = time::OffsetDateTime::parse(s, &Rfc3339) {
        t.to_offset(time::UtcOffset::UTC)
    } else {
        return Err(Error::BadArgument(format!(
            "--since {s:?}: expected a date like 2026-05-14 or a time like 2026-05-14T08:00:00Z"
        )));
    };
    Ok(Since(timestamp(instant)))
}
