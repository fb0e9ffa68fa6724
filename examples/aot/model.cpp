// The model of the ahead-of-time example: a dense layer with gelu, then a softmax over
// the classes, plus the mean activation of each row. It is built with kiln's C++ API,
// saved as IR (kiln::save_ir; the weights go to the data file), and run once with the JIT
// on a fixed input, whose outputs the compiled C programs must reproduce.
//
//   aot_example_model DIR   writes DIR/model.kir (+ model.kir.data), DIR/x.npy and
//                           DIR/expected0.npy, DIR/expected1.npy
#include <kiln/kiln.h>

#include <cmath>
#include <iostream>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: aot_example_model DIR\n";
    return 2;
  }
  std::string dir = argv[1];
  try {
    // Weights from closed forms, so the example needs no random state.
    std::vector<float> w1(16 * 32), b1(32), w2(32 * 10), x(8 * 16);
    for (int i = 0; i < 16 * 32; ++i) w1[i] = 0.25f * std::sin(0.37f * static_cast<float>(i));
    for (int i = 0; i < 32; ++i) b1[i] = 0.01f * static_cast<float>(i - 16);
    for (int i = 0; i < 32 * 10; ++i) w2[i] = 0.2f * std::cos(0.11f * static_cast<float>(i));
    for (int i = 0; i < 8 * 16; ++i) x[i] = std::sin(0.05f * static_cast<float>(i * i));

    kiln::Tensor input = kiln::zeros({8, 16});
    kiln::Tensor h =
        kiln::gelu(kiln::matmul(input, kiln::from_data(w1, {16, 32})) + kiln::from_data(b1, {32}));
    kiln::Tensor probs = kiln::softmax(kiln::matmul(h, kiln::from_data(w2, {32, 10})), -1);
    kiln::Tensor mean = kiln::mean(h, 1);
    kiln::save_ir(dir + "/model.kir", {probs, mean}, {.inputs = {{"x", input}}});

    // The JIT's outputs for x, through the saved file as a user of the file would.
    kiln::IrFunction model = kiln::load_ir(dir + "/model.kir");
    kiln::Tensor xt = kiln::from_data(x, {8, 16});
    std::vector<kiln::Tensor> out = model({xt});
    kiln::save_npy(dir + "/x.npy", xt);
    kiln::save_npy(dir + "/expected0.npy", out[0]);
    kiln::save_npy(dir + "/expected1.npy", out[1]);
    std::cout << "wrote " << dir << "/model.kir and the JIT's outputs on "
              << kiln::current_device()->name() << "\n";
  } catch (const kiln::Error& e) {
    std::cerr << "aot_example_model: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
