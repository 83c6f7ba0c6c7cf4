// LpBackend on HiGHS through its C API (the C++ API of the highsbox build cannot be linked: it was
// compiled with the old libstdc++ string ABI).
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "corrclust/lp_backend.hpp"
#include "interfaces/highs_c_api.h"

namespace corrclust {

const char* to_string(LpMethod m) {
    switch (m) {
        case LpMethod::dual_simplex: return "dual_simplex";
        case LpMethod::ipm: return "ipm";
        case LpMethod::ipm_crossover: return "ipm_crossover";
    }
    return "?";
}

const char* to_string(LpStatus s) {
    switch (s) {
        case LpStatus::optimal: return "optimal";
        case LpStatus::infeasible: return "infeasible";
        case LpStatus::time_limit: return "time_limit";
        case LpStatus::interrupted: return "interrupted";
        case LpStatus::error: return "error";
    }
    return "?";
}

std::string highs_version() { return Highs_version(); }

namespace {

static_assert(sizeof(HighsInt) == sizeof(int), "this backend assumes 32-bit HighsInt");

// A warning status (e.g. an option value HiGHS adjusted) is accepted; an error throws.
void check(HighsInt status, const char* what) {
    if (status == kHighsStatusError) throw std::runtime_error(std::string("HiGHS call failed: ") + what);
}

class HighsBackend final : public LpBackend {
public:
    HighsBackend() : h_(Highs_create()) {
        if (!h_) throw std::runtime_error("Highs_create failed");
        check(Highs_setBoolOptionValue(h_, "output_flag", 0), "output_flag");
        check(Highs_setIntOptionValue(h_, "threads", 1), "threads");
        check(Highs_setStringOptionValue(h_, "presolve", "off"), "presolve");
        inf_ = Highs_getInfinity(h_);
    }
    ~HighsBackend() override { Highs_destroy(h_); }
    HighsBackend(const HighsBackend&) = delete;
    HighsBackend& operator=(const HighsBackend&) = delete;

    void add_columns(const std::vector<double>& cost, const std::vector<double>& lower,
                     const std::vector<double>& upper) override {
        const auto k = static_cast<HighsInt>(cost.size());
        check(Highs_addCols(h_, k, cost.data(), lower.data(), upper.data(), 0, nullptr, nullptr, nullptr),
              "addCols");
    }

    void add_rows(const LpRows& rows) override {
        if (rows.size() == 0) return;
        std::vector<double> lo(rows.lower), hi(rows.upper);
        for (auto& v : lo)
            if (std::isinf(v)) v = -inf_;
        for (auto& v : hi)
            if (std::isinf(v)) v = inf_;
        check(Highs_addRows(h_, rows.size(), lo.data(), hi.data(), static_cast<HighsInt>(rows.index.size()),
                            rows.start.data(), rows.index.data(), rows.value.data()),
              "addRows");
    }

    void delete_rows(const std::vector<int>& rows) override {
        if (rows.empty()) return;
        std::vector<HighsInt> set(rows.begin(), rows.end());
        std::sort(set.begin(), set.end());
        check(Highs_deleteRowsBySet(h_, static_cast<HighsInt>(set.size()), set.data()), "deleteRowsBySet");
    }

    void set_column_bounds(const std::vector<int>& cols, const std::vector<double>& lower,
                           const std::vector<double>& upper) override {
        if (cols.empty()) return;
        check(Highs_changeColsBoundsBySet(h_, static_cast<HighsInt>(cols.size()), cols.data(), lower.data(),
                                          upper.data()),
              "changeColsBoundsBySet");
    }

    // Every HiGHS return code is checked: a failed option or clock call is a programming error and
    // throws; a failed run is LpStatus::error, which branch_and_cut retries once with interior point
    // + crossover and otherwise turns into a one-line RuntimeError.
    LpStatus solve(LpMethod method, double time_limit_s) override {
        if (!(time_limit_s > 0)) return LpStatus::time_limit;
        switch (method) {
            case LpMethod::dual_simplex:
                check(Highs_setStringOptionValue(h_, "solver", "simplex"), "solver");
                check(Highs_setIntOptionValue(h_, "simplex_strategy", 1), "simplex_strategy");
                break;
            case LpMethod::ipm:
                check(Highs_setStringOptionValue(h_, "solver", "ipm"), "solver");
                check(Highs_setStringOptionValue(h_, "run_crossover", "off"), "run_crossover");
                break;
            case LpMethod::ipm_crossover:
                check(Highs_setStringOptionValue(h_, "solver", "ipm"), "solver");
                check(Highs_setStringOptionValue(h_, "run_crossover", "on"), "run_crossover");
                break;
        }
        check(Highs_setDoubleOptionValue(h_, "time_limit", std::isfinite(time_limit_s) ? time_limit_s : inf_),
              "time_limit");
        if (method != LpMethod::dual_simplex) {
            // An interior-point solve ignores (and would keep a stale) basis.
            check(Highs_clearSolver(h_), "clearSolver");
        }
        check(Highs_zeroAllClocks(h_), "zeroAllClocks");  // HiGHS measures its time limit on a cumulative clock
        const HighsInt run = Highs_run(h_);
        const HighsInt ms = Highs_getModelStatus(h_);
        // Statistics only: an info value HiGHS cannot give counts as zero / no basis.
        HighsInt it = 0, ipm_it = 0, basis_validity = 0;
        if (Highs_getIntInfoValue(h_, "simplex_iteration_count", &it) != kHighsStatusOk) it = 0;
        if (Highs_getIntInfoValue(h_, "ipm_iteration_count", &ipm_it) != kHighsStatusOk) ipm_it = 0;
        if (Highs_getIntInfoValue(h_, "basis_validity", &basis_validity) != kHighsStatusOk) basis_validity = 0;
        iterations_ = static_cast<std::int64_t>(std::max<HighsInt>(it, 0)) + std::max<HighsInt>(ipm_it, 0);
        has_basis_ = basis_validity == 1;
        if (run == kHighsStatusError) return LpStatus::error;  // the model status is not to be trusted
        if (ms == kHighsModelStatusOptimal) return LpStatus::optimal;
        if (ms == kHighsModelStatusInfeasible) return LpStatus::infeasible;
        if (ms == kHighsModelStatusTimeLimit) return LpStatus::time_limit;
        if (ms == kHighsModelStatusInterrupt) return LpStatus::interrupted;
        if (ms == kHighsModelStatusModelEmpty) return LpStatus::optimal;
        return LpStatus::error;
    }

    int num_columns() const override { return static_cast<int>(Highs_getNumCol(h_)); }
    int num_rows() const override { return static_cast<int>(Highs_getNumRow(h_)); }
    double objective() const override { return Highs_getObjectiveValue(h_); }

    void solution(std::vector<double>& columns, std::vector<double>& row_activity) const override {
        const HighsInt nc = Highs_getNumCol(h_), nr = Highs_getNumRow(h_);
        columns.resize(static_cast<size_t>(nc));
        row_activity.resize(static_cast<size_t>(nr));
        std::vector<double> col_dual(static_cast<size_t>(nc)), row_dual(static_cast<size_t>(nr));
        check(Highs_getSolution(h_, columns.data(), col_dual.data(), row_activity.data(), row_dual.data()),
              "getSolution");
    }

    void reduced_costs(std::vector<double>& columns) const override {
        const HighsInt nc = Highs_getNumCol(h_), nr = Highs_getNumRow(h_);
        columns.resize(static_cast<size_t>(nc));
        std::vector<double> value(static_cast<size_t>(nc)), activity(static_cast<size_t>(nr)),
            row_dual(static_cast<size_t>(nr));
        check(Highs_getSolution(h_, value.data(), columns.data(), activity.data(), row_dual.data()), "getSolution");
    }

    bool has_basis() const override { return has_basis_; }
    std::int64_t iterations() const override { return iterations_; }

    void set_interrupt(std::function<bool()> interrupt) override {
        interrupt_ = std::move(interrupt);
        if (!interrupt_) return;
        check(Highs_setCallback(h_, &HighsBackend::callback, this), "setCallback");
        check(Highs_startCallback(h_, kHighsCallbackSimplexInterrupt), "startCallback simplex");
        check(Highs_startCallback(h_, kHighsCallbackIpmInterrupt), "startCallback ipm");
    }

private:
    static void callback(int type, const char*, const HighsCallbackDataOut*, HighsCallbackDataIn* in,
                         void* self) {
        auto* me = static_cast<HighsBackend*>(self);
        if ((type == kHighsCallbackSimplexInterrupt || type == kHighsCallbackIpmInterrupt) && in &&
            me->interrupt_ && me->interrupt_())
            in->user_interrupt = 1;
    }

    void* h_;
    double inf_;
    bool has_basis_ = false;
    std::int64_t iterations_ = 0;
    std::function<bool()> interrupt_;
};

}  // namespace

std::unique_ptr<LpBackend> make_highs_backend() { return std::make_unique<HighsBackend>(); }

}  // namespace corrclust
