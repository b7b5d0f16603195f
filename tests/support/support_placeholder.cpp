namespace kvsweep {}
