#!/usr/bin/env python3
"""Writes two_socket_4gpu.xml: the synthetic machine of raympi's topology tests.

hwloc's own tool draws the CPU side (lstopo --input "pack:2 numa:1 core:8 pu:2":
2 packages, 16 cores, 32 PUs; core c holds PUs 2c and 2c+1). The I/O side is
added here in hwloc's XML format, as a real DGX-like node reports it:

* 4 NVIDIA A100 GPUs (PCI class 0x0302, vendor 0x10de), two behind each
  package, each carrying the OS devices the CUDA, NVML and DRM backends add
  (cuda<i> CoProc, nvml<i> GPU with a UUID, card<i+1> and renderD<129+i>);
* an ASPEED BMC display chip (class 0x0300, vendor 0x1a03) with its DRM
  card0, which is not a compute GPU;
* an NVSwitch-like NVIDIA bridge function (class 0x0680), not a GPU either.

hwloc's XML parser cannot skip comments, so the output has none.
Run: python3 make_two_socket_4gpu.py > two_socket_4gpu.xml
"""
import subprocess
import sys

MODEL = "NVIDIA A100-SXM4-40GB"
gp = [1000]


def next_gp():
    gp[0] += 1
    return gp[0]


def osdev(name, osdev_type, subtype=None, infos=()):
    sub = f' subtype="{subtype}"' if subtype else ""
    body = "".join(f'<info name="{k}" value="{v}"/>' for k, v in infos)
    return f'<object type="OSDev" gp_index="{next_gp()}" name="{name}"{sub} osdev_type="{osdev_type}">{body}</object>'


def pcidev(busid, class_id, vendor, device, vendor_name, device_name, children=""):
    return (f'<object type="PCIDev" gp_index="{next_gp()}" pci_busid="{busid}" '
            f'pci_type="{class_id} [{vendor}:{device}] [{vendor}:{device}] a1" pci_link_speed="0.000000">'
            f'<info name="PCIVendor" value="{vendor_name}"/><info name="PCIDevice" value="{device_name}"/>'
            f'{children}</object>')


def gpu(index, busid):
    kids = (osdev(f"cuda{index}", 5, "CUDA", [("Backend", "CUDA"), ("GPUVendor", "NVIDIA Corporation"),
                                              ("GPUModel", MODEL), ("CUDAGlobalMemorySize", "41943040")])
            + osdev(f"nvml{index}", 1, "NVML", [("Backend", "NVML"), ("GPUVendor", "NVIDIA Corporation"),
                                               ("GPUModel", MODEL),
                                               ("NVIDIAUUID", f"GPU-5e1c0d2a-0000-4000-8000-00000000000{index}")])
            + osdev(f"card{index + 1}", 1)
            + osdev(f"renderD{129 + index}", 1))
    return pcidev(busid, "0302", "10de", "20b0", "NVIDIA Corporation", "GA100 [A100 SXM4 40GB]", kids)


def bridge(bus_range, children):
    inner = (f'<object type="Bridge" gp_index="{next_gp()}" bridge_type="1-1" depth="1" '
             f'bridge_pci="0000:[{bus_range}]" pci_busid="0000:{bus_range[:2]}:00.0" '
             f'pci_type="0604 [8086:347a] [0000:0000] 04" pci_link_speed="0.000000">{children}</object>')
    return f'<object type="Bridge" gp_index="{next_gp()}" bridge_type="0-1" depth="0" bridge_pci="0000:[{bus_range}]">{inner}</object>'


def main():
    xml = subprocess.run(["lstopo-no-graphics", "--input", "pack:2 numa:1 core:8 pu:2", "--of", "xml"],
                         check=True, capture_output=True, text=True).stdout
    io = {
        0: bridge("02-03", pcidev("0000:03:00.0", "0300", "1a03", "2000", "ASPEED Technology, Inc.",
                                  "ASPEED Graphics Family", osdev("card0", 1)))
           + bridge("16-17", gpu(0, "0000:17:00.0"))
           + bridge("30-31", gpu(1, "0000:31:00.0")),
        1: bridge("b0-b1", gpu(2, "0000:b1:00.0"))
           + bridge("c9-ca", gpu(3, "0000:ca:00.0"))
           + bridge("d0-d1", pcidev("0000:d1:00.0", "0680", "10de", "1af1", "NVIDIA Corporation",
                                    "GA100 [A100 NVSwitch]")),
    }
    out, package = [], -1
    for line in xml.splitlines():
        if line.startswith('    <object type="Package"'):
            package += 1
        if line == "    </object>" and package in io:  # the end of a package
            out.append("      " + io.pop(package))
        if '<info name="ProcessName"' in line:
            continue
        out.append(line)
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
