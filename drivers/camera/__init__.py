"""The camera: frames from a V4L2 camera, a video file or a synthetic test picture,
grabbed in a background thread so no caller ever waits on the device.

=============  ================================================================
``url``        camera URLs and their options (``camera://0``, ``file://``, ``synthetic://``)
``sources``    the picture sources; the only caller of ``cv2.VideoCapture`` in the project
``synthetic``  the generated test picture (the camera's simulator), with a QR mode and faults
``device``     :class:`Camera`: grabber thread, ``latest()``, ``wait_for_next()``, reconnects
``probe``      a short open-grab-close check for the CLI and ``doctor``: :func:`health`
``errors``     the camera's error tree
=============  ================================================================

There is no byte codec: OpenCV decodes the picture. Frames stay in memory.
"""
from drivers.camera.device import Camera, CameraState, Frame
from drivers.camera.errors import (CameraConfigError, CameraEnded, CameraError, CameraGone,
                                   CameraNotRunning, CameraTimeout, CameraUnavailable)
from drivers.camera.probe import ProbeResult, health, probe
from drivers.camera.url import CameraURL, parse_camera_url

__all__ = ["Camera", "CameraState", "Frame", "CameraURL", "parse_camera_url", "health", "probe",
           "ProbeResult", "CameraError", "CameraConfigError", "CameraUnavailable", "CameraGone",
           "CameraTimeout", "CameraEnded", "CameraNotRunning"]
