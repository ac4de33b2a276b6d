"""pip route: `pip install .` installs the ROS-free core (model, tracker, training, evaluation, `spgrasp`).

The ROS interfaces (spgrasp_ros.msg / .srv) and nodes need a ROS 2 build (colcon, see README); this file is
not used by colcon, which builds the package with CMakeLists.txt (package.xml: build_type ament_cmake).
"""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def _requirements(name: str) -> list[str]:
    lines = (HERE / name).read_text(encoding="utf-8").splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


setup(
    name="spgrasp_ros",
    version="0.1.0",
    description="Prompt-driven real-time grasp tracking (SPGrasp on SAM 2); ROS-free core",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["spgrasp_ros", "spgrasp_ros.*"]),
    include_package_data=True,
    package_data={"spgrasp_ros": ["presets/*/*.yaml", "weights/*.pt", "operator/static/*"]},
    install_requires=["torch>=2.5.1", "sam2>=1.1.0", *_requirements("requirements/runtime.txt")],
    extras_require={"test": ["pytest>=8", "pytest-timeout>=2.3"]},
    entry_points={"console_scripts": ["spgrasp = spgrasp_ros.cli:main"]},
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/spgrasp_ros"]),
        ("share/spgrasp_ros", ["package.xml"]),
    ],
)
