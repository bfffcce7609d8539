//! The rules every backend of the limit keeps, checked on each: this instance's table and the
//! Redis window (under a scratch prefix, counting time by the test's clock so the window can be
//! slid by hand). The Redis half is skipped when no Redis answers, except under `CI=true`.

use std::net::IpAddr;

use super::scratch::ScratchPrefix;
use super::{Decision, RateLimiter, RedisWindow, WINDOW_MS, index_key};

const T0: u64 = 1_700_000_000_000;

fn ip(n: u32) -> IpAddr {
    IpAddr::from(n.to_be_bytes())
}

#[derive(Clone, Copy)]
enum Kind {
    Local,
    Redis,
}

/// One backend under test.
enum Subject {
    Local(RateLimiter),
    /// Boxed: far larger than the table.
    Redis(Box<(RedisWindow, ScratchPrefix)>),
}

impl Subject {
    /// `None` (skipped) for Redis when no Redis answers.
    async fn new(kind: Kind, limit: u32, max_clients: usize) -> Option<Self> {
        match kind {
            Kind::Local => Some(Self::Local(RateLimiter::new(limit, max_clients))),
            Kind::Redis => {
                let keys = ScratchPrefix::create().await?;
                let settings = keys.settings_with_caller_clock();
                let window = RedisWindow::connect(limit, max_clients, settings)
                    .await
                    .expect("a valid URL");
                assert!(window.connected(), "the test Redis answers");
                Some(Self::Redis(Box::new((window, keys))))
            }
        }
    }

    async fn check(&self, ip: IpAddr, now_ms: u64) -> Decision {
        match self {
            Self::Local(limiter) => limiter.check(ip, now_ms),
            Self::Redis(redis) => redis
                .0
                .check(ip, now_ms)
                .await
                .expect("Redis decides every request of the test"),
        }
    }

    async fn admitted(&self, ip: IpAddr, now_ms: u64) -> bool {
        self.check(ip, now_ms).await.is_admitted()
    }

    async fn tracked_clients(&self) -> usize {
        match self {
            Self::Local(limiter) => limiter.tracked_clients(),
            Self::Redis(redis) => redis::cmd("ZCARD")
                .arg(index_key(&redis.1.prefix))
                .query_async(&mut redis.1.connection().await)
                .await
                .expect("ZCARD answers"),
        }
    }
}

/// Runs each case once per backend, as `<case>::local` and `<case>::redis`.
macro_rules! on_every_backend {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test]
            async fn local() {
                super::$case(super::Kind::Local).await;
            }

            #[tokio::test]
            async fn redis() {
                super::$case(super::Kind::Redis).await;
            }
        }
    )*};
}

on_every_backend!(
    addresses_in_one_ipv6_64_share_a_limit,
    admits_up_to_the_limit_and_counts_down,
    never_admits_more_than_the_limit_in_any_window,
    refused_requests_are_not_counted_and_the_window_slides,
    clients_are_limited_independently,
    a_full_table_refuses_new_clients_until_one_expires,
);

async fn addresses_in_one_ipv6_64_share_a_limit(kind: Kind) {
    let Some(limiter) = Subject::new(kind, 1, 10).await else {
        return;
    };
    let a: IpAddr = "2001:db8::1".parse().unwrap();
    let b: IpAddr = "2001:db8::ffff:2".parse().unwrap();
    let elsewhere: IpAddr = "2001:db8:0:1::1".parse().unwrap();
    assert!(limiter.admitted(a, T0).await);
    assert!(!limiter.admitted(b, T0).await);
    assert!(limiter.admitted(elsewhere, T0).await);
}

async fn admits_up_to_the_limit_and_counts_down(kind: Kind) {
    let Some(limiter) = Subject::new(kind, 3, 10).await else {
        return;
    };
    let mut remaining = Vec::new();
    for i in 0..3 {
        match limiter.check(ip(1), T0 + i * 10).await {
            Decision::Admitted {
                remaining: left,
                reset,
                ..
            } => {
                assert_eq!(reset, (T0 + WINDOW_MS) / 1000);
                remaining.push(left);
            }
            refused => panic!("refused early: {refused:?}"),
        }
    }
    assert_eq!(remaining, vec![2, 1, 0]);
    assert_eq!(
        limiter.check(ip(1), T0 + 1_000).await,
        Decision::Refused {
            limit: 3,
            reset: (T0 + WINDOW_MS) / 1000,
            retry_after: 59
        }
    );
}

async fn never_admits_more_than_the_limit_in_any_window(kind: Kind) {
    let Some(limiter) = Subject::new(kind, 5, 10).await else {
        return;
    };
    let mut admitted = Vec::new();
    // A request every 700 ms for three minutes, bursts included.
    for i in 0..260u64 {
        let now = T0 + i * 700;
        if limiter.admitted(ip(7), now).await {
            admitted.push(now);
        }
    }
    for (i, &start) in admitted.iter().enumerate() {
        let in_window = admitted[i..]
            .iter()
            .take_while(|&&t| t < start + WINDOW_MS)
            .count();
        assert!(
            in_window <= 5,
            "{in_window} admitted within 60 s of {start}"
        );
    }
    assert!(
        admitted.len() >= 15,
        "the window slides: {}",
        admitted.len()
    );
}

async fn refused_requests_are_not_counted_and_the_window_slides(kind: Kind) {
    let Some(limiter) = Subject::new(kind, 2, 10).await else {
        return;
    };
    limiter.check(ip(1), T0).await;
    limiter.check(ip(1), T0 + 30_000).await;
    for s in 1..30 {
        assert!(!limiter.admitted(ip(1), T0 + 30_000 + s * 1000).await);
    }
    assert!(matches!(
        limiter.check(ip(1), T0 + WINDOW_MS).await,
        Decision::Admitted { remaining: 0, .. }
    ));
}

async fn clients_are_limited_independently(kind: Kind) {
    let Some(limiter) = Subject::new(kind, 1, 10).await else {
        return;
    };
    assert!(limiter.admitted(ip(1), T0).await);
    assert!(limiter.admitted(ip(2), T0).await);
    assert!(!limiter.admitted(ip(1), T0).await);
}

async fn a_full_table_refuses_new_clients_until_one_expires(kind: Kind) {
    let Some(limiter) = Subject::new(kind, 10, 100).await else {
        return;
    };
    for n in 0..100 {
        limiter.check(ip(n), T0 + u64::from(n)).await;
    }
    assert_eq!(
        limiter.check(ip(1_000), T0 + 5_000).await,
        Decision::Refused {
            limit: 10,
            reset: (T0 + WINDOW_MS) / 1000,
            retry_after: 55
        }
    );
    assert!(limiter.admitted(ip(5), T0 + 5_000).await);
    assert!(limiter.admitted(ip(1_000), T0 + WINDOW_MS + 1).await);
    assert!(limiter.tracked_clients().await <= 100);
}
