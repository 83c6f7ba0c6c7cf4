// A small team of threads that work on one problem in lock-step phases (the dense GAEC and KL).
//
// The dense heuristics split each O(n) step over the threads (rows or columns of the cost matrix)
// and meet at a barrier after it. A step of the dense GAEC at n = 10,000 is a few microseconds of
// work, so the barrier spins (a few hundred nanoseconds when both threads run) before it yields
// the core: on a loaded machine a waiting thread must not burn the time slice its partner needs.
// Every split is arranged so that each number is computed by exactly one thread in the same order
// as with one thread; the results are bit-identical for any team size.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#include <immintrin.h>
#define CORRCLUST_CPU_RELAX() _mm_pause()
#else
#define CORRCLUST_CPU_RELAX() ((void)0)
#endif

namespace corrclust {
namespace detail {

// Resolves a `threads` setting: 0 means as many as the hardware has, at most 2 (the dense
// heuristics were measured on 2 cores; beyond that the per-step barrier is untested).
inline int team_size(int threads) {
    if (threads > 0) return threads;
    const unsigned hw = std::thread::hardware_concurrency();
    return hw >= 2 ? 2 : 1;
}

// Barrier for a fixed number of threads (generation counting, reusable). A waiting thread spins
// for about 100 microseconds, then sleeps until the last one arrives: on the shared 2-core machine
// at load 13, a waiter that kept the core (spinning or yielding) starved the partner it waited for
// and one GAEC took 14 s instead of 4.
class SpinBarrier {
public:
    explicit SpinBarrier(int count) : count_(count) {}
    void wait() {
        const unsigned gen = generation_.load(std::memory_order_acquire);
        if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == count_) {
            arrived_.store(0, std::memory_order_relaxed);
            {
                std::lock_guard<std::mutex> lock(mutex_);
                generation_.store(gen + 1, std::memory_order_release);
            }
            if (sleepers_.load(std::memory_order_acquire) > 0) wake_.notify_all();
            return;
        }
        for (int spin = 0; spin < 2048; ++spin) {
            if (generation_.load(std::memory_order_acquire) != gen) return;
            CORRCLUST_CPU_RELAX();
        }
        std::unique_lock<std::mutex> lock(mutex_);
        sleepers_.fetch_add(1, std::memory_order_acq_rel);
        wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != gen; });
        sleepers_.fetch_sub(1, std::memory_order_acq_rel);
    }

private:
    const int count_;
    std::atomic<int> arrived_{0}, sleepers_{0};
    std::atomic<unsigned> generation_{0};
    std::mutex mutex_;
    std::condition_variable wake_;
};

// Runs body(t, size) on `threads` threads (t = 0 is the calling thread) and joins them. When the
// system refuses a thread, the team is smaller: body learns the actual size, which is final before
// any body starts. A body may throw only where no other thread waits for it (a body that meets
// the others at a barrier throws after releasing them); the exception leaves run_team once every
// thread is joined, thread 0's first, else the lowest worker's.
template <class Body>
void run_team(int threads, Body&& body) {
    if (threads <= 1) {
        body(0, 1);
        return;
    }
    std::atomic<int> size{0};  // 0 until every thread that could be started is started
    std::vector<std::thread> workers;
    workers.reserve(static_cast<size_t>(threads - 1));
    std::vector<std::exception_ptr> failed(static_cast<size_t>(threads));
    auto worker = [&](int t) {
        int s;
        while ((s = size.load(std::memory_order_acquire)) == 0) std::this_thread::yield();
        if (t >= s) return;
        try {
            body(t, s);
        } catch (...) {  // out of memory in a worker: rethrown by the calling thread, after the join
            failed[static_cast<size_t>(t)] = std::current_exception();
        }
    };
    for (int t = 1; t < threads; ++t) {
        try {
            workers.emplace_back(worker, t);
        } catch (const std::system_error&) {
            break;
        }
    }
    size.store(static_cast<int>(workers.size()) + 1, std::memory_order_release);
    try {
        body(0, static_cast<int>(workers.size()) + 1);
    } catch (...) {
        for (auto& w : workers) w.join();
        throw;
    }
    for (auto& w : workers) w.join();
    for (const auto& e : failed)
        if (e) std::rethrow_exception(e);
}

// The share [lo, hi) of thread t of `size` in [0, m).
inline void share(size_t m, int t, int size, size_t& lo, size_t& hi) {
    lo = m * static_cast<size_t>(t) / static_cast<size_t>(size);
    hi = m * static_cast<size_t>(t + 1) / static_cast<size_t>(size);
}

}  // namespace detail
}  // namespace corrclust
