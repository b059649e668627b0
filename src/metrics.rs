//! Prometheus metrics: requests by service, action and outcome, and latency.
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pub database_up: IntGauge,
    /// 1 after a directory answered, 0 after it could not be reached.
    pub directory_up: IntGauge,
    /// Browser sign-ins by method and outcome.
    pub signins: IntCounterVec,
    pub audit: AuditMetrics,
    /// This node's clock minus the database server's (PostgreSQL), seconds.
    pub clock_skew: prometheus::Gauge,
    /// Metadata refreshes that failed (the last good document stays), by
    /// entity id (SPs) or provider ARN (external IdPs).
    pub metadata_refresh_failures: IntCounterVec,
    /// Days until a SAML provider's first signing certificate ends, by provider ARN.
    pub certificate_days_left: prometheus::IntGaugeVec,
}

/// The audit trail's pipeline: how far behind it is, how long its commits
/// take, and what it refused, stored, exported and deleted.
#[derive(Clone)]
pub struct AuditMetrics {
    /// Tickets out: events waiting to be stored and requests under way.
    pub waiting: IntGauge,
    pub write_seconds: Histogram,
    pub stored: IntCounter,
    /// Commits of events that failed (the events are retried).
    pub write_failures: IntCounter,
    /// Requests refused because the trail had no room in time.
    pub refused: IntCounter,
    pub exported: IntCounter,
    pub deleted: IntCounter,
}

impl AuditMetrics {
    fn register(registry: &Registry) -> Result<AuditMetrics, prometheus::Error> {
        let counter = |name: &str, help: &str| -> Result<IntCounter, prometheus::Error> {
            let c = IntCounter::new(name, help)?;
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        };
        let waiting = IntGauge::new("idbroker_audit_queue_depth", "Audit events waiting to be stored")?;
        registry.register(Box::new(waiting.clone()))?;
        let write_seconds = Histogram::with_opts(
            HistogramOpts::new("idbroker_audit_write_seconds", "Time to commit a group of audit events")
                .buckets(vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0]),
        )?;
        registry.register(Box::new(write_seconds.clone()))?;
        Ok(AuditMetrics {
            waiting,
            write_seconds,
            stored: counter("idbroker_audit_events_stored_total", "Audit events stored")?,
            write_failures: counter(
                "idbroker_audit_write_failures_total",
                "Failed commits of audit events (retried)",
            )?,
            refused: counter(
                "idbroker_audit_refusals_total",
                "Requests refused (retryable) because the audit trail had no room",
            )?,
            exported: counter("idbroker_audit_events_exported_total", "Audit events exported")?,
            deleted: counter("idbroker_audit_events_deleted_total", "Audit events deleted by retention")?,
        })
    }
}

impl Metrics {
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("idbroker_requests_total", "API requests by service, action and outcome"),
            &["service", "action", "outcome"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new("idbroker_request_duration_seconds", "API request latency")
                .buckets(vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5]),
            &["service", "action"],
        )?;
        let database_up =
            IntGauge::new("idbroker_database_up", "1 when the last readiness check reached the database")?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        let directory_up =
            IntGauge::new("idbroker_directory_up", "1 when the last directory request got an answer")?;
        let signins = IntCounterVec::new(
            Opts::new("idbroker_signins_total", "Browser sign-ins by method and outcome"),
            &["method", "outcome"],
        )?;
        registry.register(Box::new(database_up.clone()))?;
        registry.register(Box::new(directory_up.clone()))?;
        registry.register(Box::new(signins.clone()))?;
        let audit = AuditMetrics::register(&registry)?;
        let clock_skew = prometheus::Gauge::new(
            "idbroker_clock_skew_seconds",
            "This node's clock minus the database server's; every node judges tokens and assertions by its own clock",
        )?;
        registry.register(Box::new(clock_skew.clone()))?;
        let metadata_refresh_failures = IntCounterVec::new(
            Opts::new(
                "idbroker_metadata_refresh_failures_total",
                "Metadata fetched from a URL that could not be used; the last good document stays in force",
            ),
            &["subject"],
        )?;
        registry.register(Box::new(metadata_refresh_failures.clone()))?;
        let certificate_days_left = prometheus::IntGaugeVec::new(
            Opts::new(
                "idbroker_saml_provider_certificate_days_left",
                "Days until the SAML provider's first signing certificate ends",
            ),
            &["provider"],
        )?;
        registry.register(Box::new(certificate_days_left.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            database_up,
            directory_up,
            signins,
            audit,
            clock_skew,
            metadata_refresh_failures,
            certificate_days_left,
        })
    }

    /// Records one request. `action` must come from the known set (or be
    /// "unknown"), so clients cannot grow the label space.
    pub fn observe(&self, service: &str, action: &str, outcome: &str, seconds: f64) {
        self.requests.with_label_values(&[service, action, outcome]).inc();
        self.latency.with_label_values(&[service, action]).observe(seconds);
    }

    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        if TextEncoder::new().encode(&self.registry.gather(), &mut buf).is_err() {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}
