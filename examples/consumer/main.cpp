// A program outside kiln's build that uses the installed package: builds a tiny graph,
// evaluates it and checks the values against ones worked out by hand. Exit status 0 when
// they match, 1 otherwise (the package test in tests/package/ relies on it).
#include <kiln/kiln.h>

#include <cstdio>
#include <exception>
#include <vector>

int main() {
  try {
    // a = [[1, 2], [3, 4]]
    kiln::Tensor a = kiln::from_data({1.f, 2.f, 3.f, 4.f}, {2, 2});
    // a @ a = [[7, 10], [15, 22]]; a * 2 + 1 = [[3, 5], [7, 9]], row sums [8, 16].
    kiln::Tensor product = kiln::matmul(a, a);
    kiln::Tensor row_sums = kiln::sum(a * 2 + 1, 1);
    kiln::eval(product, row_sums);

    std::vector<float> got_product = product.to_vector<float>();
    std::vector<float> got_sums = row_sums.to_vector<float>();
    bool ok =
        got_product == std::vector<float>{7, 10, 15, 22} && got_sums == std::vector<float>{8, 16};
    std::printf("a @ a = [[%g, %g], [%g, %g]], row sums of a * 2 + 1 = [%g, %g] on '%s': %s\n",
                got_product[0], got_product[1], got_product[2], got_product[3], got_sums[0],
                got_sums[1], kiln::current_device()->name().c_str(), ok ? "ok" : "WRONG");
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kiln_consumer: %s\n", e.what());
    return 1;
  }
}
