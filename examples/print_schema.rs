//! Prints the GraphQL SDL: `cargo run --example print_schema > schema.graphql`.

fn main() {
    print!("{}", chatgate::graphql::sdl());
}
