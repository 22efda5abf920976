"""The image service's domain errors; api/errors.py renders them as Glance does (webob bodies)."""

from __future__ import annotations

from nubes.core.exceptions import BadRequest, Conflict, Forbidden, Gone, NotFound, OverLimit


class ImageNotFound(NotFound):
    code = "image.not_found"

    def __init__(self, image_id: str) -> None:
        super().__init__(f"No image found with ID {image_id}")


class MemberNotFound(NotFound):
    code = "image.member_not_found"


class InvalidImage(BadRequest):
    """The request body does not match the image schema or Glance's rules."""

    code = "image.invalid"


class InvalidImageData(BadRequest):
    """The uploaded or imported data is refused: not its disk_format, unsafe, or too large a disk."""

    code = "image.invalid_data"


class ReadOnlyAttribute(Forbidden):
    code = "image.read_only"

    def __init__(self, name: str) -> None:
        super().__init__(f"Attribute '{name}' is read-only.")


class ReservedAttribute(Forbidden):
    code = "image.reserved"

    def __init__(self, name: str) -> None:
        super().__init__(f"Attribute '{name}' is reserved.")


class ProtectedImageDelete(Forbidden):
    code = "image.protected"

    def __init__(self, image_id: str) -> None:
        super().__init__(f"Image {image_id} is protected and cannot be deleted.")


class InvalidStatusTransition(Conflict):
    code = "image.invalid_status_transition"

    def __init__(self, current: str, new: str) -> None:
        super().__init__(f"Image status transition from {current} to {new} is not allowed")


class ImageConflict(Conflict):
    code = "image.conflict"


class ImageGone(Gone):
    code = "image.gone"


class ImageForbidden(Forbidden):
    code = "image.forbidden"


class QuotaExceeded(OverLimit):
    """A unified-limits quota (image_count_total, image_size_total ...) would be exceeded."""

    code = "image.quota_exceeded"


class ImageTooLarge(OverLimit):
    code = "image.too_large"


class LimitExceeded(OverLimit):
    """Members, properties or tags over their per-image limit."""

    code = "image.limit_exceeded"


class ClientDisconnected(BadRequest):
    """The client went away in the middle of sending image data (nobody is left to read this)."""

    code = "image.client_disconnected"
    message = "The client disconnected while sending image data."


class MetadefNotFound(NotFound):
    code = "image.metadef_not_found"


class MetadefDuplicate(Conflict):
    code = "image.metadef_duplicate"


class MetadefProtected(Forbidden):
    code = "image.metadef_protected"


class TaskNotFound(NotFound):
    code = "image.task_not_found"

    def __init__(self, task_id: str) -> None:
        super().__init__(f"Task with the given id {task_id} not found")
