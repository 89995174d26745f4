import NIOCore

/// Runs Swift tasks on a connection's event loop thread.
///
/// A tool that waits for a frame, answers it and waits again crosses threads twice per frame
/// when its task runs on the global executor: the event loop resumes it on a pool thread, and its
/// write hops back to the event loop. Preferring this executor (`withTaskExecutorPreference`)
/// keeps the whole exchange on one thread.
public final class EventLoopTaskExecutor: TaskExecutor {
    private let eventLoop: any EventLoop

    public init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = self.asUnownedTaskExecutor()
        self.eventLoop.execute {
            job.runSynchronously(on: executor)
        }
    }
}

extension FabricClient {
    /// An executor on this connection's event loop, for `withTaskExecutorPreference`.
    public var taskExecutor: EventLoopTaskExecutor {
        EventLoopTaskExecutor(self.eventLoop)
    }
}
