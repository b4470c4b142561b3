//! `lambox-agent [--invoke ADDR] [--runtime-api ADDR] [--sandbox-dir DIR] [--] [BOOTSTRAP ARGS…]`
//!
//! The statically linked agent that runs inside containers and Pods. `lambox-agent isolate …`
//! is `lambox isolate` (see `lambox_agent::isolate`).

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().is_some_and(|a| a == "isolate") {
        lambox_agent::isolate::main(args.skip(1));
    }
    let args = lambox_agent::AgentArgs::parse(args)?;
    lambox_agent::run(args)
}
