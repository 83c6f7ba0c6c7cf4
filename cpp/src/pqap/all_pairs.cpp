// One ordered pair, and threaded all-pairs sweeps.
#include "corrclust/pqap/all_pairs.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <numeric>
#include <thread>

#include "corrclust/control.hpp"
#include "corrclust/pqap/reference.hpp"

namespace corrclust::pqap {

namespace {

// For each point of `from`, the index of the same key point (channel, column, row) in `to`, or -1.
// Equal keys are paired in list order, each point of `to` at most once. The lists are a few
// hundred points long, so the quadratic scan costs far less than one heuristic of the solver.
std::vector<int> same_points(const PointList& from, const PointList& to) {
    std::vector<int> out(from.size(), kUnassigned);
    std::vector<char> used(to.size(), 0);
    for (int i = 0; i < from.size(); ++i) {
        for (int j = 0; j < to.size(); ++j) {
            if (!used[j] && to.channel[j] == from.channel[i] && to.col[j] == from.col[i] && to.row[j] == from.row[i]) {
                used[j] = 1;
                out[i] = j;
                break;
            }
        }
    }
    return out;
}

// The matching of features(b) -> candidates(a), read backwards as features(a) -> candidates(b). A
// matched pair survives only when both of its points are in the other lists too (a red key point
// can be a candidate without being a feature).
Assignment reversed(const Assignment& x_ba, const Organoid& a, const Organoid& b) {
    const std::vector<int> feature_of = same_points(a.candidates, a.features);
    const std::vector<int> candidate_of = same_points(b.features, b.candidates);
    Assignment y(a.features.size(), kUnassigned);
    for (int i = 0; i < static_cast<int>(x_ba.size()); ++i) {
        if (x_ba[i] == kUnassigned) continue;
        const int f = feature_of[x_ba[i]];
        const int c = candidate_of[i];
        if (f != kUnassigned && c != kUnassigned) y[f] = c;
    }
    return y;
}

}  // namespace

MatchResult match_pair(const Organoid& a, const Organoid& b, const CostParams& params, Mode mode,
                       Control* control) {
    const PairCost cost(a.features, b.candidates, params);
    MatchResult r = solve_reference(cost, control);
    if (mode != Mode::improved || (control != nullptr && control->stopped())) return r;
    // Improved: the reference matching of the opposite direction, x(b->a) read backwards, competes
    // too, and the one of lower E(a->b) is kept, so s(a->b) and s(b->a) can come from one
    // correspondence. It won on 1 of 10 development seeds and tied the other 9 (mean recipe);
    // taking one matching for both directions instead, or keeping only the pairs both agree on,
    // separated the classes worse, and so did the local search (a better optimum per direction):
    // docs/pqap.md.
    const PairCost back(b.features, a.candidates, params);
    const MatchResult rb = solve_reference(back, control);
    if (control != nullptr && control->stopped()) return r;
    MatchResult y;
    y.assignment = reversed(rb.assignment, a, b);
    finish_result(cost, y);
    if (y.energy < r.energy) {
        y.winner = 5;
        return y;
    }
    return r;
}

std::int64_t run_pairs(const std::vector<Organoid>& organoids, const std::vector<PairTask>& tasks,
                       const CostParams& params, Mode mode, int threads, SweepOutput& out, Control& control,
                       std::atomic<std::int64_t>& finished, const std::function<void()>& tick,
                       double tick_interval_s) {
    const std::int64_t T = static_cast<std::int64_t>(tasks.size());
    if (out.assignments != nullptr) out.assignments->resize(tasks.size());

    // Largest n*m first; ties keep the task order, so the schedule is reproducible.
    std::vector<std::int64_t> order;
    order.reserve(tasks.size());
    for (std::int64_t k = 0; k < T; ++k)
        if (out.done == nullptr || out.done[k] == 0) order.push_back(k);
    auto work = [&](std::int64_t k) {
        const PairTask& t = tasks[k];
        return static_cast<std::int64_t>(organoids[t.a].features.size()) * organoids[t.b].candidates.size();
    };
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t x, std::int64_t y) { return work(x) > work(y); });

    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    threads = static_cast<int>(std::min<std::int64_t>(threads, std::max<std::int64_t>(1, order.size())));

    std::atomic<std::int64_t> next{0};
    std::atomic<std::int64_t> done_here{0};
    std::atomic<int> running{threads};
    std::mutex mu;
    std::condition_variable cv;

    auto worker = [&]() {
        for (;;) {
            if (control.stop()) break;
            const std::int64_t pos = next.fetch_add(1);
            if (pos >= static_cast<std::int64_t>(order.size())) break;
            const std::int64_t k = order[pos];
            const PairTask& t = tasks[k];
            MatchResult r = match_pair(organoids[t.a], organoids[t.b], params, mode, &control);
            if (control.stopped()) break;  // possibly incomplete: not recorded
            if (out.similarity) out.similarity[k] = r.similarity;
            if (out.energy) out.energy[k] = r.energy;
            if (out.linear_by_feature) out.linear_by_feature[k] = r.linear_by_feature;
            if (out.linear_by_candidate) out.linear_by_candidate[k] = r.linear_by_candidate;
            if (out.winner) out.winner[k] = static_cast<std::int8_t>(r.winner);
            if (out.assignments) (*out.assignments)[k] = std::move(r.assignment);
            if (out.done) {
                std::atomic_thread_fence(std::memory_order_release);
                reinterpret_cast<volatile std::uint8_t*>(out.done)[k] = 1;
            }
            done_here.fetch_add(1);
            finished.fetch_add(1);
        }
        if (running.fetch_sub(1) == 1) {
            std::lock_guard<std::mutex> lock(mu);
            cv.notify_all();
        }
    };

    std::vector<std::thread> pool;
    pool.reserve(threads);
    for (int i = 0; i < threads; ++i) pool.emplace_back(worker);
    {
        std::unique_lock<std::mutex> lock(mu);
        const auto interval = std::chrono::duration<double>(tick_interval_s);
        while (running.load() > 0) {
            cv.wait_for(lock, interval, [&] { return running.load() == 0; });
            if (running.load() == 0) break;
            lock.unlock();
            if (tick) tick();
            lock.lock();
        }
    }
    for (auto& th : pool) th.join();
    if (tick) tick();
    return done_here.load();
}

}  // namespace corrclust::pqap
