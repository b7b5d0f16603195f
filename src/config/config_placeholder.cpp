// placeholder so that the layer library is never empty
namespace kvsweep {}
