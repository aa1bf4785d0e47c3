use async_trait::async_trait;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use switchboard_core::domain::{EscalationJob, Work};
use switchboard_core::ports::{EscalationQueue, MessageQueue, PortError};
use tokio::sync::mpsc;

/// An in-process queue: a tokio channel whose receiver a worker task drains. Ordered, like one
/// FIFO group; `set_down` makes it refuse messages, as a queue outage would.
#[derive(Debug)]
pub struct MemoryQueue<T> {
    sender: mpsc::UnboundedSender<T>,
    down: Arc<AtomicBool>,
}

impl<T> Clone for MemoryQueue<T> {
    fn clone(&self) -> Self {
        Self { sender: self.sender.clone(), down: self.down.clone() }
    }
}

impl<T: Clone + Send + serde::Serialize + 'static> MemoryQueue<T> {
    /// A queue and the receiver its worker drains.
    pub fn new() -> (Self, mpsc::UnboundedReceiver<T>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (Self { sender, down: Arc::new(AtomicBool::new(false)) }, receiver)
    }

    /// Simulates an outage (`true`) or recovery (`false`).
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// Sends `item`, reporting the SQS requests the AWS adapter would be billed for: the same
    /// JSON body, FIFO for the messages queue, standard for escalations.
    fn send(&self, port: &'static str, item: &T, fifo: bool) -> Result<(), PortError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(PortError::Unavailable { port, detail: "queue is down".into() });
        }
        let body = serde_json::to_string(item).map_err(|e| PortError::Corrupt { port, detail: e.to_string() })?;
        crate::cost::units::report_sqs_send(body.len(), fifo);
        self.sender
            .send(item.clone())
            .map_err(|_| PortError::Unavailable { port, detail: "no worker is consuming the queue".into() })
    }
}

#[async_trait]
impl MessageQueue for MemoryQueue<Work> {
    async fn enqueue(&self, work: &Work) -> Result<(), PortError> {
        self.send("message queue", work, true)
    }
}

#[async_trait]
impl EscalationQueue for MemoryQueue<EscalationJob> {
    async fn enqueue(&self, job: &EscalationJob) -> Result<(), PortError> {
        self.send("escalation queue", job, false)
    }
}
