// spectral: names of the transform kinds (see spectral.h).
#include "codegen/spectral.h"

namespace kiln::codegen {

std::string_view spectral_kind_name(SpectralKind kind) {
  switch (kind) {
    case SpectralKind::Forward: return "forward";
    case SpectralKind::Inverse: return "inverse";
    case SpectralKind::RealForward: return "real forward (r2c)";
    case SpectralKind::RealInverse: return "real inverse (c2r)";
  }
  return "?";
}

}  // namespace kiln::codegen
