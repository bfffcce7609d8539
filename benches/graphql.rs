//! GraphQL execution over the memory store, without HTTP: `cargo bench --bench graphql`.
//! Each query runs through `chatgate::graphql::build_schema` and `Schema::execute`.

mod common;

use std::sync::Arc;

use chatgate::assistant::BuiltinResponder;
use chatgate::domain::SystemClock;
use chatgate::graphql::build_schema;
use chatgate::service::ChatService;
use common::{HEAVY_USER, chat_store, config};
use criterion::{Criterion, criterion_group, criterion_main};

const PAGE_FIELDS: &str = "total hasMore chats { id title description active priority userId \
                           createdAt updatedAt }";

fn graphql(c: &mut Criterion, count: usize) {
    let (store, ids) = chat_store(count);
    let clock = Arc::new(SystemClock);
    let service = ChatService::new(store, Arc::new(BuiltinResponder::new(clock)));
    let schema = build_schema(
        service,
        Default::default(),
        &chatgate::metrics::Metrics::off(),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");

    let deep = count * 9 / 10;
    let heavy_deep = count / 2 * 8 / 10 * 9 / 10;
    let queries = [
        (
            "chat by id",
            format!(
                r#"{{ chat(id: "{}") {{ id title active priority }} }}"#,
                ids[count / 2]
            ),
        ),
        (
            "page of 20 chats",
            format!("{{ chats(limit: 20) {{ {PAGE_FIELDS} }} }}"),
        ),
        (
            "page of 20 chats at a deep offset",
            format!("{{ chats(limit: 20, offset: {deep}) {{ {PAGE_FIELDS} }} }}"),
        ),
        (
            "page of 20 filtered chats at a deep offset",
            format!(
                r#"{{ chats(active: true, userId: "{HEAVY_USER}", limit: 20, offset: {heavy_deep}) {{ {PAGE_FIELDS} }} }}"#
            ),
        ),
    ];
    let mut group = c.benchmark_group(format!("graphql {count} chats"));
    for (name, query) in queries {
        let response = runtime.block_on(schema.execute(query.as_str()));
        assert!(response.errors.is_empty(), "{name}: {:?}", response.errors);
        group.bench_function(name, |b| {
            b.iter(|| runtime.block_on(schema.execute(query.as_str())))
        });
    }
    group.finish();
}

fn graphql_10k(c: &mut Criterion) {
    graphql(c, 10_000);
}

fn graphql_1m(c: &mut Criterion) {
    graphql(c, 1_000_000);
}

criterion_group! {
    name = benches;
    config = config();
    targets = graphql_10k, graphql_1m
}
criterion_main!(benches);
