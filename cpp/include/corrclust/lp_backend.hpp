// The few linear-programming operations the branch-and-cut solver needs, behind a small
// interface. One implementation, HiGHS through its C API (src/lp_highs.cpp); another backend
// (CLP, a commercial solver) would only have to implement this class.
//
// The model is   min c^T x   s.t.   row_lower <= A x <= row_upper,   col_lower <= x <= col_upper.
// Rows are added and deleted as cutting planes come and go; column bounds change as the search
// fixes variables. The backend keeps its basis between solves, so that a dual-simplex re-solve
// after such a change is warm-started.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace corrclust {

// How to solve. `ipm` stops at the interior-point optimum (no crossover: fast, no basis);
// `ipm_crossover` adds crossover to a vertex and a basis; `dual_simplex` warm-starts from the
// current basis when there is one.
enum class LpMethod { dual_simplex, ipm, ipm_crossover };

enum class LpStatus { optimal, infeasible, time_limit, interrupted, error };

const char* to_string(LpMethod m);
const char* to_string(LpStatus s);

// A batch of rows in compressed form: row r has entries index[start[r] .. start[r+1]).
struct LpRows {
    std::vector<double> lower, upper;
    std::vector<int> start{0};
    std::vector<int> index;
    std::vector<double> value;

    int size() const { return static_cast<int>(lower.size()); }
    void clear() {
        lower.clear();
        upper.clear();
        start.assign(1, 0);
        index.clear();
        value.clear();
    }
    // Appends one row; `idx` and `val` have the same length.
    void add(double lo, double hi, const int* idx, const double* val, int len) {
        lower.push_back(lo);
        upper.push_back(hi);
        index.insert(index.end(), idx, idx + len);
        value.insert(value.end(), val, val + len);
        start.push_back(static_cast<int>(index.size()));
    }
};

class LpBackend {
public:
    virtual ~LpBackend() = default;

    virtual void add_columns(const std::vector<double>& cost, const std::vector<double>& lower,
                             const std::vector<double>& upper) = 0;
    virtual void add_rows(const LpRows& rows) = 0;
    // Deletes the rows with the given indices (any order, no duplicates); later rows shift down.
    virtual void delete_rows(const std::vector<int>& rows) = 0;
    virtual void set_column_bounds(const std::vector<int>& cols, const std::vector<double>& lower,
                                   const std::vector<double>& upper) = 0;

    // Solves with at most `time_limit_s` seconds (infinity for none).
    virtual LpStatus solve(LpMethod method, double time_limit_s) = 0;

    virtual int num_columns() const = 0;
    virtual int num_rows() const = 0;
    virtual double objective() const = 0;
    // Column values and row activities of the last solve.
    virtual void solution(std::vector<double>& columns, std::vector<double>& row_activity) const = 0;
    // Reduced costs (column duals) of the last solve; meaningful when it left a basis.
    virtual void reduced_costs(std::vector<double>& columns) const = 0;
    // Whether the last solve left a simplex basis (dual simplex or crossover).
    virtual bool has_basis() const = 0;
    // Simplex plus interior-point iterations of the last solve.
    virtual std::int64_t iterations() const = 0;

    // Called from inside long LP solves; returning true abandons the solve (status interrupted).
    virtual void set_interrupt(std::function<bool()> interrupt) = 0;
};

// HiGHS (C API) backend. Quiet (no log output), one thread.
std::unique_ptr<LpBackend> make_highs_backend();
std::string highs_version();

}  // namespace corrclust
