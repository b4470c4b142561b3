//! Launch permits and leases: starting a sandbox the pool allowed, and giving a lent one back
//! (to the idle list, or to be stopped).

use std::time::Instant;

use super::state::Idle;
use super::{LaunchPermit, Lease, PoolError};
use crate::backend::{Sandbox, SandboxSpec};

impl LaunchPermit {
    /// Starts the sandbox and lends it out.
    pub async fn launch(mut self, spec: &SandboxSpec) -> Result<Lease, PoolError> {
        let sink = (self.inner.sinks)(&self.key, spec);
        let sandbox = self.inner.backend.launch(spec, sink).await?;
        self.used = true;
        Ok(Lease {
            inner: self.inner.clone(),
            key: self.key.clone(),
            deploy: self.deploy.clone(),
            born: self.born,
            memory_mb: self.memory_mb,
            provisioned: self.provisioned,
            sandbox: Some(sandbox),
            cold: true,
        })
    }
}

impl Drop for LaunchPermit {
    fn drop(&mut self) {
        if self.used {
            return;
        }
        let mut state = self.inner.lock();
        if let Some(slots) = state.functions.get_mut(&self.key) {
            slots.give_back(self.born);
            slots.released.notify_one();
        }
        state.forget(&self.key, &self.deploy, self.memory_mb, self.provisioned);
    }
}

impl Lease {
    /// `host:port` of the sandbox's agent.
    pub fn endpoint(&self) -> &str {
        &self.sandbox().endpoint
    }

    /// The sandbox's id.
    pub fn sandbox_id(&self) -> &str {
        &self.sandbox().id
    }

    /// The sandbox lent.
    pub fn sandbox(&self) -> &Sandbox {
        self.sandbox
            .as_ref()
            .expect("a lease holds its sandbox until it is given back")
    }

    /// Whether the sandbox was started for this lease.
    pub fn is_cold(&self) -> bool {
        self.cold
    }

    /// Gives the sandbox back for the next invocation.
    pub fn release(mut self) {
        self.give_back(true);
    }

    /// Stops the sandbox: it failed in a way that makes it unusable.
    pub fn discard(mut self) {
        self.give_back(false);
    }

    fn give_back(&mut self, healthy: bool) {
        let Some(sandbox) = self.sandbox.take() else {
            return;
        };
        let stop = {
            let mut state = self.inner.lock();
            let slots = state.functions.entry(self.key.clone()).or_default();
            let keep = healthy && slots.is_current(&self.deploy, self.born);
            slots.give_back(self.born);
            slots.released.notify_one();
            if keep {
                slots
                    .idle
                    .entry(self.deploy.clone())
                    .or_default()
                    .push(Idle {
                        sandbox,
                        since: Instant::now(),
                        born: self.born,
                        memory_mb: self.memory_mb,
                        provisioned: self.provisioned,
                    });
                None
            } else {
                state.forget(&self.key, &self.deploy, self.memory_mb, self.provisioned);
                Some(sandbox)
            }
        };
        if let Some(sandbox) = stop {
            self.inner.terminate_later(vec![sandbox]);
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.give_back(false);
    }
}
