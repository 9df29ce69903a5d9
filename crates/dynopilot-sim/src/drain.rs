//! HTTPS log drains as Logplex delivers them: a bounded per-drain buffer (oldest dropped, an
//! L10 line injected later), batches of octet-counted frames (at most 100 KB and 1,024
//! messages; a single longer message goes alone) POSTed with the `Logplex-*` headers, and
//! Logplex's retry rules (facts: heroku-platform.md §4).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use dynopilot_core::{Clock, Timestamp};
use dynopilot_logplex::encode;
use rand::{Rng, SeedableRng, rngs::SmallRng};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::logs::LogRecord;

/// Logplex's defaults (`http_drain_buffer_size`, `http_drain_target_bytes`, 3 attempts).
#[derive(Debug, Clone)]
pub struct DrainConfig {
    pub buffer_size: usize,
    pub target_bytes: usize,
    /// Most messages in one request.
    pub batch_messages: usize,
    pub max_attempts: u32,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub user_agent: String,
}

impl Default for DrainConfig {
    fn default() -> Self {
        DrainConfig {
            buffer_size: 1024,
            target_bytes: 102_400,
            batch_messages: 1024,
            max_attempts: 3,
            connect_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(5),
            user_agent: "Logplex/v72".to_string(),
        }
    }
}

/// Messages waiting for delivery, plus the count of those dropped to make room.
#[derive(Debug)]
pub struct DrainBuffer {
    queue: VecDeque<Arc<LogRecord>>,
    capacity: usize,
    dropped: u64,
    dropped_since: Option<Timestamp>,
}

/// One request body and its `Logplex-Msg-Count`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub body: Vec<u8>,
    pub count: usize,
}

impl DrainBuffer {
    pub fn new(capacity: usize) -> Self {
        DrainBuffer {
            queue: VecDeque::new(),
            capacity: capacity.max(1),
            dropped: 0,
            dropped_since: None,
        }
    }

    /// Queues a message, dropping the oldest when full (Logplex favours newer lines).
    pub fn push(&mut self, record: Arc<LogRecord>) {
        if self.queue.len() == self.capacity {
            self.queue.pop_front();
            self.dropped += 1;
            self.dropped_since.get_or_insert(record.at);
        }
        self.queue.push_back(record);
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty() && self.dropped == 0
    }

    /// The next batch: an L10 notice first if messages were dropped, then queued messages
    /// while the body stays within `target_bytes` (a first message longer than that goes
    /// alone) and the count within `max_messages`.
    pub fn take_batch(
        &mut self,
        now: Timestamp,
        target_bytes: usize,
        max_messages: usize,
    ) -> Option<Batch> {
        if self.is_empty() {
            return None;
        }
        let mut body = Vec::new();
        let mut count = 0;
        if self.dropped > 0 {
            let since = self.dropped_since.unwrap_or(now);
            let notice = overflow_notice(self.dropped, since, now);
            notice.with_record(|r| encode::push_frame(&mut body, r));
            count += 1;
            self.dropped = 0;
            self.dropped_since = None;
        }
        let mut frame = Vec::new();
        while let Some(record) = self.queue.front() {
            if count >= max_messages.max(1) {
                break;
            }
            frame.clear();
            record.with_record(|r| encode::push_frame(&mut frame, r));
            if count > 0 && body.len() + frame.len() > target_bytes {
                break;
            }
            body.extend_from_slice(&frame);
            count += 1;
            self.queue.pop_front();
        }
        Some(Batch { body, count })
    }
}

/// `Error L10 (output buffer overflow): N messages dropped since TS.` from `heroku[logplex]`.
pub fn overflow_notice(dropped: u64, since: Timestamp, now: Timestamp) -> LogRecord {
    let since = dynopilot_logplex::timestamp::format(since);
    LogRecord::new(
        now,
        "heroku",
        "logplex",
        format!("Error L10 (output buffer overflow): {dropped} messages dropped since {since}."),
    )
}

/// Counters a test or the demo can read.
#[derive(Debug, Default)]
pub struct DrainStats {
    pub attempts: AtomicU64,
    pub delivered_batches: AtomicU64,
    pub delivered_messages: AtomicU64,
    pub dropped_batches: AtomicU64,
}

impl DrainStats {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// What the delivery task shares with the world.
#[derive(Debug)]
pub struct DrainOutlet {
    pub buffer: Mutex<DrainBuffer>,
    pub notify: Notify,
    pub stats: DrainStats,
    pub cancel: CancellationToken,
}

impl DrainOutlet {
    pub fn new(config: &DrainConfig) -> Arc<Self> {
        Arc::new(DrainOutlet {
            buffer: Mutex::new(DrainBuffer::new(config.buffer_size)),
            notify: Notify::new(),
            stats: DrainStats::default(),
            cancel: CancellationToken::new(),
        })
    }

    pub fn push(&self, record: Arc<LogRecord>) {
        self.lock().push(record);
        self.notify.notify_one();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DrainBuffer> {
        self.buffer.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Where and how one drain delivers.
#[derive(Debug, Clone)]
pub struct DrainTarget {
    /// The drain URL without user info.
    pub url: reqwest::Url,
    pub basic_auth: Option<String>,
    pub token: String,
}

impl DrainTarget {
    /// Splits `user:pass@` out of `url` into an `Authorization: Basic` value.
    pub fn parse(url: &str, token: &str) -> Result<Self, String> {
        let mut url = reqwest::Url::parse(url).map_err(|e| format!("invalid URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("drain URL must be http or https".into());
        }
        let basic_auth = (!url.username().is_empty()).then(|| {
            let pair = format!("{}:{}", url.username(), url.password().unwrap_or(""));
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            )
        });
        // Both setters only fail for URLs that cannot have credentials, ruled out above.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        url.set_fragment(None);
        Ok(DrainTarget {
            url,
            basic_auth,
            token: token.to_string(),
        })
    }
}

/// Delivers batches from `outlet` to `target` until the outlet is cancelled.
pub async fn run_delivery(
    outlet: Arc<DrainOutlet>,
    target: DrainTarget,
    config: DrainConfig,
    clock: Arc<dyn Clock>,
) {
    let http = match reqwest::Client::builder()
        .user_agent(config.user_agent.clone())
        .connect_timeout(config.connect_timeout)
        .timeout(config.request_timeout)
        .build()
    {
        Ok(http) => http,
        Err(err) => {
            tracing::error!(error = %err, "drain: cannot build HTTP client");
            return;
        }
    };
    let seed = u64::try_from(clock.now().as_millis()).unwrap_or(0);
    let mut delivery = Delivery {
        http,
        target,
        config,
        clock,
        rng: SmallRng::seed_from_u64(seed),
    };
    loop {
        let batch = outlet.lock().take_batch(
            delivery.clock.now(),
            delivery.config.target_bytes,
            delivery.config.batch_messages,
        );
        let Some(batch) = batch else {
            tokio::select! {
                () = outlet.cancel.cancelled() => return,
                () = outlet.notify.notified() => continue,
            }
        };
        tokio::select! {
            () = outlet.cancel.cancelled() => return,
            () = delivery.deliver(&batch, &outlet.stats) => {}
        }
    }
}

struct Delivery {
    http: reqwest::Client,
    target: DrainTarget,
    config: DrainConfig,
    clock: Arc<dyn Clock>,
    rng: SmallRng,
}

enum Outcome {
    Delivered,
    Permanent,
    Temporary,
}

impl Delivery {
    async fn deliver(&mut self, batch: &Batch, stats: &DrainStats) {
        // One id per batch, reused on every retry so receivers can de-duplicate.
        let frame_id = encode::frame_id(self.rng.random());
        for attempt in 1..=self.config.max_attempts.max(1) {
            stats.attempts.fetch_add(1, Ordering::Relaxed);
            match self.post(batch, &frame_id).await {
                Outcome::Delivered => {
                    stats.delivered_batches.fetch_add(1, Ordering::Relaxed);
                    let n = u64::try_from(batch.count).unwrap_or(u64::MAX);
                    stats.delivered_messages.fetch_add(n, Ordering::Relaxed);
                    return;
                }
                Outcome::Permanent => break,
                Outcome::Temporary if attempt < self.config.max_attempts => {
                    let delay = backoff(attempt, &mut self.rng);
                    self.clock.sleep(delay).await;
                }
                Outcome::Temporary => {}
            }
        }
        stats.dropped_batches.fetch_add(1, Ordering::Relaxed);
    }

    async fn post(&self, batch: &Batch, frame_id: &str) -> Outcome {
        let mut request = self
            .http
            .post(self.target.url.clone())
            .header("Content-Type", "application/logplex-1")
            .header("Logplex-Msg-Count", batch.count.to_string())
            .header("Logplex-Frame-Id", frame_id)
            .header("Logplex-Drain-Token", &self.target.token)
            .body(batch.body.clone());
        if let Some(auth) = &self.target.basic_auth {
            request = request.header("Authorization", auth);
        }
        match request.send().await {
            Ok(response) => classify(response.status().as_u16()),
            Err(err) => {
                tracing::debug!(error = %err.without_url(), "drain: delivery failed");
                Outcome::Temporary
            }
        }
    }
}

fn classify(status: u16) -> Outcome {
    match status {
        200..=299 => Outcome::Delivered,
        429 => Outcome::Temporary,
        400..=499 => Outcome::Permanent,
        _ => Outcome::Temporary,
    }
}

/// Logplex's reconnect backoff: `10 ms × trunc((2^k − 1) / 2)`, k random in 1..=min(attempt, 10).
pub fn backoff(attempt: u32, rng: &mut impl Rng) -> Duration {
    let k = rng.random_range(1..=attempt.clamp(1, 10));
    Duration::from_millis(10 * (((1u64 << k) - 1) / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(i: usize) -> Arc<LogRecord> {
        Arc::new(LogRecord::new(
            Timestamp::from_secs(1_700_000_000),
            "app",
            "web.1",
            format!("line {i}"),
        ))
    }

    #[test]
    fn overflow_drops_oldest_and_next_batch_starts_with_l10() {
        let mut buffer = DrainBuffer::new(3);
        for i in 0..5 {
            buffer.push(rec(i));
        }
        let batch = buffer
            .take_batch(Timestamp::from_secs(1_700_000_001), 100_000, 1024)
            .unwrap();
        assert_eq!(batch.count, 4);
        let parsed = dynopilot_logplex::parse_body(&batch.body);
        assert!(parsed.issues.is_empty(), "{:?}", parsed.issues);
        let messages: Vec<String> = parsed
            .frames
            .iter()
            .map(|f| String::from_utf8_lossy(f.message).into_owned())
            .collect();
        assert!(
            messages[0]
                .starts_with("Error L10 (output buffer overflow): 2 messages dropped since "),
            "{}",
            messages[0]
        );
        assert_eq!(parsed.frames[0].process, "logplex");
        assert_eq!(&messages[1..], ["line 2", "line 3", "line 4"]);
        assert!(buffer.take_batch(Timestamp::EPOCH, 100_000, 1024).is_none());
    }

    #[test]
    fn batches_stay_within_the_target_size() {
        let mut buffer = DrainBuffer::new(1024);
        for i in 0..100 {
            buffer.push(rec(i));
        }
        let first = buffer.take_batch(Timestamp::EPOCH, 500, 1024).unwrap();
        assert!(first.count > 1 && first.count < 100, "{}", first.count);
        assert!(first.body.len() <= 500, "{}", first.body.len());
        let mut total = first.count;
        while let Some(b) = buffer.take_batch(Timestamp::EPOCH, 500, 1024) {
            assert!(b.body.len() <= 500, "{}", b.body.len());
            total += b.count;
        }
        assert_eq!(total, 100);
    }

    #[test]
    fn a_message_longer_than_the_target_goes_alone() {
        let mut buffer = DrainBuffer::new(16);
        let long = LogRecord::new(Timestamp::EPOCH, "app", "web.1", "x".repeat(2_000));
        buffer.push(Arc::new(long));
        buffer.push(rec(1));
        let first = buffer.take_batch(Timestamp::EPOCH, 500, 1024).unwrap();
        assert_eq!(first.count, 1);
        assert!(first.body.len() > 2_000);
        assert_eq!(
            buffer
                .take_batch(Timestamp::EPOCH, 500, 1024)
                .unwrap()
                .count,
            1
        );
    }

    #[test]
    fn a_batch_never_holds_more_than_the_message_limit_even_with_the_l10_notice() {
        let mut buffer = DrainBuffer::new(1024);
        for i in 0..1030 {
            buffer.push(rec(i));
        }
        let first = buffer
            .take_batch(Timestamp::EPOCH, usize::MAX, 1024)
            .unwrap();
        assert_eq!(first.count, 1024);
        let parsed = dynopilot_logplex::parse_body(&first.body);
        assert_eq!(parsed.frames.len(), 1024);
        assert_eq!(parsed.frames[0].process, "logplex");
        let rest = buffer
            .take_batch(Timestamp::EPOCH, usize::MAX, 1024)
            .unwrap();
        assert_eq!(rest.count, 1);
    }

    #[test]
    fn target_moves_credentials_into_basic_auth() {
        let t = DrainTarget::parse("https://user:pa55@example.com/logs?x=1#frag", "d.1").unwrap();
        assert_eq!(t.url.as_str(), "https://example.com/logs?x=1");
        assert_eq!(t.basic_auth.as_deref(), Some("Basic dXNlcjpwYTU1"));
        assert!(DrainTarget::parse("syslog://example.com:514", "d.1").is_err());
    }

    #[test]
    fn backoff_stays_within_logplex_bounds() {
        let mut rng = SmallRng::seed_from_u64(7);
        for attempt in 1..=12 {
            let d = backoff(attempt, &mut rng);
            assert!(d <= Duration::from_millis(5110), "{d:?}");
        }
        assert_eq!(backoff(1, &mut rng), Duration::ZERO);
    }
}
