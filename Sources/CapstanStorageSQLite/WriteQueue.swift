import CapstanStorage
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a client asks the writer thread to do.
enum WriteOperation: Sendable {
    case create(key: String, value: [UInt8], lease: Int64)
    case update(key: String, value: [UInt8], expected: Int64?, lease: Int64)
    case delete(key: String, expected: Int64?)
    case grantLease(ttlSeconds: Int64)
    case revokeLease(Int64)
    /// Expire leases whose deadline is at or before this clock reading.
    case expireLeases(at: Duration)
    case compact(Int64)

    var byteCount: Int {
        switch self {
        case .create(let key, let value, _), .update(let key, let value, _, _): key.utf8.count + value.count
        case .delete(let key, _): key.utf8.count
        default: 0
        }
    }
}

enum WriteOutcome: Sendable {
    case kv(KeyValue)
    case deleted(DeleteResult)
    case lease(Int64)
    case done
}

struct WriteRequest: BatchItem {
    var operation: WriteOperation
    var continuation: CheckedContinuation<WriteOutcome, any Error>

    var byteCount: Int { operation.byteCount }
}

/// Something queued for a writer thread; `byteCount` bounds the size of a batch.
protocol BatchItem: Sendable {
    var byteCount: Int { get }
}

/// The queue between client tasks and the writer thread: a mutex and a condition variable.
/// `take` hands the writer everything queued (up to a batch limit), which is what makes one
/// transaction, and one fsync, serve many concurrent writes.
final class WriteQueue<Item: BatchItem>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var items: [Item] = []
    private var closed = false

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    /// Queues a request; false when the queue is closed.
    func push(_ request: Item) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if closed { return false }
        items.append(request)
        if items.count == 1 { pthread_cond_signal(condition) }
        return true
    }

    /// Takes up to `maxCount` requests (and about `maxBytes`), waiting for one if `wait`.
    /// Returns an empty batch with `closed` true once closed and drained.
    func take(maxCount: Int, maxBytes: Int, wait: Bool) -> (batch: [Item], closed: Bool) {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while wait && items.isEmpty && !closed {
            pthread_cond_wait(condition, mutex)
        }
        var count = 0
        var bytes = 0
        while count < items.count && count < maxCount && (count == 0 || bytes < maxBytes) {
            bytes += items[count].byteCount
            count += 1
        }
        if count == items.count {
            var batch: [Item] = []
            batch.reserveCapacity(items.capacity)
            swap(&batch, &items)
            return (batch, closed)
        }
        let batch = Array(items[..<count])
        items.removeFirst(count)
        return (batch, closed)
    }

    func close() {
        pthread_mutex_lock(mutex)
        closed = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }
}

/// Starts a detached POSIX thread running `body`.
enum PosixThread {
    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    static func start(_ body: @escaping @Sendable () -> Void) throws(StorageError) {
        let box = Unmanaged.passRetained(Box(body))
        #if canImport(Glibc)
        var thread = pthread_t()
        #else
        var thread: pthread_t?
        #endif
        let rc = pthread_create(&thread, nil, { context in
            let box = Unmanaged<Box>.fromOpaque(context!).takeRetainedValue()
            box.body()
            return nil
        }, box.toOpaque())
        guard rc == 0 else {
            box.release()
            throw StorageError(.unavailable, "cannot start the SQLite writer thread: \(String(cString: strerror(rc)))")
        }
        #if canImport(Glibc)
        pthread_detach(thread)
        #else
        pthread_detach(thread!)
        #endif
    }
}

/// Lets async code wait for a writer thread to end.
final class ThreadExit: Sendable {
    private struct State {
        var exited = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Called by the thread as its last action.
    func signal() {
        let waiters = state.withLock { state in
            state.exited = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let exited = state.withLock { state in
                if !state.exited { state.waiters.append(continuation) }
                return state.exited
            }
            if exited { continuation.resume() }
        }
    }
}
