//! `lambox-agent [--invoke ADDR] [--runtime-api ADDR] [--sandbox-dir DIR] [--] [BOOTSTRAP ARGS…]`
//!
//! The statically linked agent that runs inside containers and Pods.

fn main() -> anyhow::Result<()> {
    let args = lambox_agent::AgentArgs::parse(std::env::args().skip(1))?;
    lambox_agent::run(args)
}
